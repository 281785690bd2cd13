"""A project's packaging policy: versions, the staff's editor, and judging again by a new one."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from releases import permissions
from releases.models import AuditEvent, PolicyVersion, Reverification, Submission
from releases.policies import current_version, rules_for, shipped_text
from releases.verification import services
from tests.factories import ProjectMemberFactory, UserFactory
from tests.helpers import bundle_bytes, submit
from tests.processes import wait_for

# A prerequisite no bundle of the demo requires: a policy with it fails them all.
STRICTER = shipped_text("convirt").replace(
    '[[prereqs]]\nname = "vte"',
    '[[prereqs]]\nname = "libfrobnicate"\naliases = ["libfrobnicate"]\n\n[[prereqs]]\nname = "vte"',
)


def editor(project):
    return reverse("staff-policy", args=[project.slug])


def post(client, project, text, *, action, base, note="", reverify=False):
    data = {"text": text, "note": note, "base": str(base), "action": action}
    if reverify:
        data["reverify"] = "on"
    return client.post(editor(project), data)


@pytest.mark.django_db
def test_version_one_is_the_shipped_policy_and_a_version_never_changes(project):
    version = current_version(project)
    assert (version.number, version.text) == (1, shipped_text("convirt"))
    assert rules_for(project).name == "convirt"
    version.note = "edited in place"
    with pytest.raises(ValueError, match="immutable"):
        version.save()
    assert PolicyVersion.objects.get(pk=version.pk).note != "edited in place"


@pytest.mark.django_db
def test_each_verdict_records_the_policy_version_that_reached_it(
    release, ubuntu, maintainer, django_capture_on_commit_callbacks
):
    submission = submit(release, ubuntu, maintainer, bundle_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        services.submission_verify(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.policy_version == current_version(release.project)


@pytest.mark.django_db
def test_only_the_owners_edit_a_policy(client, project, maintainer):
    client.force_login(maintainer)
    assert client.get(editor(project)).status_code == 404  # off the team: nothing to learn
    assert post(client, project, STRICTER, action="save", base=1).status_code == 404
    reviewer = ProjectMemberFactory(project=project, role="reviewer").user
    client.force_login(reviewer)
    assert client.get(editor(project)).status_code == 200  # the team reads it
    refused = post(client, project, STRICTER, action="save", base=1)
    assert refused.status_code == 403 and "only its owners may" in refused.content.decode()
    assert project.policy_versions.count() <= 1


@pytest.mark.django_db
def test_a_policy_that_does_not_parse_is_shown_with_its_line_and_nothing_is_saved(
    client, project, staff
):
    client.force_login(staff)
    current_version(project)
    broken = shipped_text("convirt").replace('name = "convirt"', 'name = "convirt', 1)
    page = post(client, project, broken, action="review", base=1)
    assert page.status_code == 400
    html = page.content.decode()
    line = broken.splitlines().index('name = "convirt') + 1
    assert f"Line {line}" in html
    assert f'id="policy-line-{line}" class="problem-line' in html
    assert "Save as version" not in html
    # Saving it anyway (a crafted request) is refused the same way.
    assert post(client, project, broken, action="save", base=1).status_code == 400
    assert project.policy_versions.count() == 1


@pytest.mark.django_db
def test_a_review_shows_the_diff_then_saving_makes_version_two_with_an_audit_event(
    client, project, staff
):
    client.force_login(staff)
    assert client.get(editor(project)).status_code == 200
    review = post(client, project, STRICTER, action="review", base=1)
    assert review.status_code == 200
    html = review.content.decode()
    assert '<span class="diff-add">+name = &quot;libfrobnicate&quot;</span>' in html
    assert "Save as version 2" in html

    saved = post(client, project, STRICTER, action="save", base=1, note="libfrobnicate is needed")
    assert saved.status_code == 302
    version = current_version(project)
    assert (version.number, version.author, version.note) == (2, staff, "libfrobnicate is needed")
    assert "libfrobnicate" in {p.name for p in rules_for(project).prereqs}
    event = AuditEvent.objects.get(verb="policy.saved")
    assert (event.actor, event.detail["version"], event.detail["sha256"]) == (
        staff,
        2,
        version.sha256,
    )
    page = client.get(reverse("staff-policy-version", args=[project.slug, 2])).content.decode()
    assert "libfrobnicate is needed" in page and "diff-add" in page
    audit = client.get(reverse("staff-audit")).content.decode()
    assert f'href="{reverse("staff-policy-version", args=[project.slug, 2])}"' in audit


@pytest.mark.django_db
def test_two_staff_saving_at_once_the_second_is_shown_the_change_and_keeps_their_text(
    client, project, staff, django_user_model
):
    other = ProjectMemberFactory(project=project, user=UserFactory(username="other-boss")).user
    current_version(project)
    client.force_login(other)
    assert post(client, project, STRICTER, action="save", base=1, note="first").status_code == 302

    client.force_login(staff)
    mine = shipped_text("convirt").replace("lint = true", "lint = false")
    answer = post(client, project, mine, action="save", base=1, note="second")
    assert answer.status_code == 409
    html = answer.content.decode()
    assert "changed while you edited it" in html and "other-boss saved version 2" in html
    assert "lint = false" in html  # the editor still holds their text
    assert '<span class="diff-del">-name = &quot;libfrobnicate&quot;</span>' in html
    assert re.search(r'name="base" value="2"', html)  # a save after merging goes on from v2
    assert project.policy_versions.count() == 2
    assert post(client, project, mine, action="save", base=2).status_code == 302
    assert current_version(project).number == 3


@pytest.mark.django_db
def test_a_stricter_policy_re_verifies_live_submissions_and_mails_whose_verdict_changed(
    client, release, ubuntu, fedora, maintainer, staff, django_capture_on_commit_callbacks
):
    submission = submit(release, ubuntu, maintainer, bundle_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        services.submission_verify(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.state == "passed"
    client.force_login(staff)
    html = client.get(editor(release.project)).content.decode()
    assert "1 submission of open releases would be checked again" in html

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        post(client, release.project, STRICTER, action="save", base=1, reverify=True, note="frob")
    reverification = Reverification.objects.get()
    item = reverification.items.get()
    assert (item.submission_id, item.verdict_before, item.done_at) == (
        submission.pk,
        "passed",
        None,
    )
    html = client.get(editor(release.project)).content.decode()
    assert "0 of 1 submissions checked again" in html and 'data-final="false"' in html
    assert "js/poll" in html  # the box follows the work while it goes on

    with django_capture_on_commit_callbacks(execute=True):
        assert services.submission_reverify(item_id=item.pk) == "passed -> failed"
    assert services.submission_reverify(item_id=item.pk) == "done already"
    submission.refresh_from_db()
    assert submission.state == "failed"
    assert submission.policy_version.number == 2
    assert submission.findings.filter(check_id="prereq-missing", message__contains="libfrobnicate")
    (letter,) = [m for m in mail.outbox if "new packaging policy" in m.subject]
    assert maintainer.email in letter.to
    assert "it was passed, it is now failed" in letter.body
    assert "New problems:" in letter.body and "libfrobnicate" in letter.body
    html = client.get(editor(release.project)).content.decode()
    assert "1 of 1 submissions checked again: finished; 1 changed verdict" in html
    dashboard = client.get(reverse("staff-release", args=[release.pk])).content.decode()
    assert "Re-verification against policy version 2" in dashboard
    box = client.get(
        reverse("staff-policy-progress", args=[release.project.slug]), {"release": release.pk}
    ).content.decode()
    assert "1 of 1 of this release's submissions checked again: finished" in box
    assert 'data-final="true"' in box


@pytest.mark.django_db
def test_a_submission_replaced_meanwhile_is_skipped_not_judged(
    release, ubuntu, maintainer, staff, django_capture_on_commit_callbacks
):
    first = submit(release, ubuntu, maintainer, bundle_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        services.submission_verify(submission_id=first.pk)
        services.policy_version_save(
            project=release.project,
            text=STRICTER,
            note="",
            author=staff,
            base_number=1,
            reverify=True,
        )
    item = Reverification.objects.get().items.get()
    Submission.objects.filter(pk=first.pk).update(state="superseded")
    assert services.submission_reverify(item_id=item.pk) == "skipped: superseded"
    item.refresh_from_db()
    assert item.verdict_after == "superseded" and item.done_at


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_worker_re_verifies_by_the_new_version(worker, release, ubuntu, maintainer, staff):
    submission = submit(release, ubuntu, maintainer, bundle_bytes())
    wait_for(
        lambda: Submission.objects.filter(pk=submission.pk, state="passed").first(),
        timeout=60,
        what="the first verdict",
    )
    services.policy_version_save(
        project=release.project, text=STRICTER, note="", author=staff, base_number=1, reverify=True
    )
    done = wait_for(
        lambda: Submission.objects.filter(
            pk=submission.pk, state="failed", policy_version__number=2
        ).first(),
        timeout=60,
        what="the verdict by version 2",
    )
    assert done.findings.filter(message__contains="libfrobnicate").exists()


@pytest.mark.django_db
def test_staff_create_a_project_with_its_own_policy_or_the_starter_one(client, site_admin):
    staff = site_admin
    client.force_login(staff)
    new = reverse("staff-project-new")
    assert client.get(new).status_code == 200
    bad = client.post(
        new, {"name": "Tern", "slug": "tern", "homepage": "", "policy_text": "schema = 1\nname ="}
    )
    assert bad.status_code == 400
    assert "Nothing was created" in bad.content.decode() and "Line 2" in bad.content.decode()
    assert not PolicyVersion.objects.filter(project__slug="tern").exists()

    made = client.post(new, {"name": "Tern", "slug": "tern", "homepage": "", "policy_text": ""})
    assert made.status_code == 302
    version = PolicyVersion.objects.get(project__slug="tern")
    assert (version.number, version.author) == (1, staff)
    rules = rules_for(version.project)
    assert (rules.name, rules.roots_for("ubuntu")) == ("tern", ("packaging/ubuntu/",))
    assert AuditEvent.objects.filter(verb="project.created", object_repr="Tern").exists()
    assert permissions.project_role(staff, version.project) == "owner"
    shouting = client.post(new, {"name": "T", "slug": "My_Tern", "homepage": "", "policy_text": ""})
    assert shouting.status_code == 400 and "lower-case letters" in shouting.content.decode()
    again = client.post(new, {"name": "Tern 2", "slug": "tern", "homepage": "", "policy_text": ""})
    assert again.status_code == 400 and "exists already" in again.content.decode()


@pytest.mark.django_db
def test_an_oversized_policy_is_refused_with_the_limit_and_nothing_is_saved(client, project, staff):
    client.force_login(staff)
    current_version(project)
    for size, words in [
        (1024**2, "A policy holds at most 262144 characters"),  # past the policy's own limit
        (5 * 1024**2, "larger than the 5 MB any form of the portal takes"),  # past any form's
    ]:
        huge = shipped_text("convirt") + "# " + "x" * size + "\n"
        for action in ("review", "save"):
            answer = post(client, project, huge, action=action, base=1)
            assert answer.status_code == 400
            assert words in answer.content.decode()
    assert project.policy_versions.count() == 1


BASE = shipped_text("convirt")


@pytest.mark.parametrize(
    ("edited", "words"),
    [
        (
            BASE.replace(
                'distro_dir = "distros/{distro}/"',
                'distro_dir = "distros/{distro}/"\nroots = ["x"]',
            ),
            "did you mean `root`?",
        ),
        (
            BASE.replace(
                'contribution_roots = ["distros/{distro}/"', 'contribution_roots = ["../{distro}/"'
            ),
            "it climbs out",
        ),
        (
            BASE.replace(
                'contribution_roots = ["distros/{distro}/"',
                'contribution_roots = ["/srv/{distro}/"',
            ),
            "it is absolute",
        ),
        (
            BASE.replace(
                '{ source = "src/", target = "/usr/share/convirt/src/", mode = "0644" },',
                '{ source = "src/", target = "/usr/share/convirt/src/", mode = "0644" },\n'
                '  { source = "src/", target = "/usr/share/convirt/src/", mode = "0755" },',
            ),
            "one path has one mode",
        ),
        (BASE.replace('min_version = "2.4"', 'min_version = "two point four"'), "cannot read it"),
        (
            BASE + "\n[limits]\nmax_member_in_memory = 10737418240\n",
            "a policy may tighten a limit, not loosen it",
        ),
        (
            re.sub(
                r"(?m)^patch_pattern = .*$", "patch_pattern = '(?<!old-)paramiko.*\\\\.patch'", BASE
            ),
            "it uses a negative lookbehind",
        ),
        (
            BASE.replace('check = "paramiko-patch-missing"', 'check = "paramiko-fix-missing"'),
            "it is not a check id",
        ),
    ],
    ids=[
        "unknown-key",
        "root-climbs-out",
        "root-absolute",
        "conflicting-modes",
        "bad-version",
        "limit-loosened",
        "pattern-lookbehind",
        "undeclared-check",
    ],
)
@pytest.mark.django_db
def test_each_bad_policy_is_refused_at_its_line_in_words_and_nothing_is_saved(
    client, project, staff, edited, words
):
    assert edited != BASE
    client.force_login(staff)
    current_version(project)
    for action in ("review", "save"):
        answer = post(client, project, edited, action=action, base=1)
        assert answer.status_code == 400
        html = answer.content.decode()
        assert words in html.replace("&#x27;", "'").replace("&quot;", '"'), html[:3000]
        assert re.search(r'<a href="#policy-line-(\d+)">Line \1, column \d+</a>', html)
        assert "Save as version" not in html
    assert project.policy_versions.count() == 1


@pytest.mark.django_db
def test_the_staff_api_reads_and_saves_the_policy_with_the_same_refusals(
    client, project, staff, maintainer
):
    from accounts.models import ApiToken

    def auth(user):
        return {"HTTP_AUTHORIZATION": "Token " + ApiToken.issue(user=user, name="ci")[1]}

    url = reverse("api-policy", args=[project.slug])
    boss = auth(staff)
    assert client.get(url, **auth(maintainer)).status_code == 404
    read = client.get(url, **boss).json()
    assert (read["version"], read["text"]) == (1, shipped_text("convirt"))

    def save(text, base, **extra):
        body = {"text": text, "base": base, "note": "from CI", **extra}
        return client.post(url, body, content_type="application/json", **boss)

    refused = save(BASE.replace('min_version = "2.4"', 'min_version = "two point four"'), 1)
    assert refused.status_code == 400
    (problem,) = refused.json()["problems"]
    assert problem["key"] == "prereqs[1].min_version" and problem["line"] > 1
    saved = save(STRICTER, 1)
    assert saved.status_code == 201
    assert saved.json()["version"] == 2 and saved.json()["versions"][1]["version"] == 1
    stale = save(BASE.replace("lint = true", "lint = false"), 1)
    assert stale.status_code == 409 and "changed while you edited it" in stale.json()["error"]
    assert project.policy_versions.count() == 2


@pytest.mark.django_db
def test_the_guide_preview_shows_the_edited_rules_before_anything_is_saved(client, project, staff):
    client.force_login(staff)
    current_version(project)
    preview = reverse("staff-policy-preview", args=[project.slug])
    page = client.post(preview, {"text": STRICTER, "base": "1"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Preview: this is the guide the edited policy would give" in html
    assert "libfrobnicate" in html
    assert (
        "libfrobnicate"
        not in client.get(reverse("project-guide", args=[project.slug])).content.decode()
    )
    broken = client.post(preview, {"text": "schema = 1\n[layout", "base": "1"})
    assert broken.status_code == 400 and "cannot be previewed" in broken.content.decode()
    assert project.policy_versions.count() == 1


@pytest.mark.django_db
def test_anyone_downloads_the_policy_text_a_guide_or_report_names(
    client, release, ubuntu, maintainer, staff, django_capture_on_commit_callbacks
):
    project = release.project
    submission = submit(release, ubuntu, maintainer, bundle_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        services.submission_verify(submission_id=submission.pk)
    services.policy_version_save(
        project=project, text=STRICTER, note="", author=staff, base_number=1, reverify=False
    )
    current = client.get(reverse("project-policy-text", args=[project.slug]))
    assert current.status_code == 200 and current["X-Policy-Version"] == "2"
    assert current.content.decode() == STRICTER
    assert current["Content-Type"].startswith("application/toml")
    assert f"{project.slug}-policy-v2.toml" in current["Content-Disposition"]
    again = client.get(
        reverse("project-policy-text", args=[project.slug]), HTTP_IF_NONE_MATCH=current["ETag"]
    )
    assert again.status_code == 304
    first = reverse("project-policy-version-text", args=[project.slug, 1])
    assert client.get(first).content.decode() == shipped_text("convirt")
    assert (
        client.get(reverse("project-policy-version-text", args=[project.slug, 9])).status_code
        == 404
    )

    guide = client.get(reverse("project-guide", args=[project.slug])).content.decode()
    assert "version 2 of ConVirt's policy" in guide
    assert reverse("project-policy-text", args=[project.slug]) in guide
    client.force_login(maintainer)
    report = client.get(reverse("submission-detail", args=[submission.pk])).content.decode()
    assert f'<a href="{first}">version 1</a>' in report  # the version that judged it


# --- what a hostile review found, held -------------------------------------------


def _passed(release, ubuntu, maintainer, capture):
    submission = submit(release, ubuntu, maintainer, bundle_bytes())
    with capture(execute=True):
        services.submission_verify(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.state == "passed"
    return submission


def _save(project, text, base, staff, capture):
    with capture(execute=True):
        return services.policy_version_save(
            project=project, text=text, note="", author=staff, base_number=base, reverify=True
        )[1]


@pytest.mark.django_db
def test_an_older_versions_re_verification_never_overrides_a_newer_one(
    release, ubuntu, maintainer, staff, django_capture_on_commit_callbacks
):
    submission = _passed(release, ubuntu, maintainer, django_capture_on_commit_callbacks)
    stricter = _save(release.project, STRICTER, 1, staff, django_capture_on_commit_callbacks)
    reverted = _save(release.project, BASE, 2, staff, django_capture_on_commit_callbacks)
    assert services.submission_reverify(item_id=reverted.items.get().pk) == "passed -> passed"
    assert services.submission_reverify(item_id=stricter.items.get().pk) == "skipped: outdated"
    submission.refresh_from_db()
    assert (submission.state, submission.policy_version.number) == ("passed", 3)


@pytest.mark.django_db
def test_a_release_published_meanwhile_keeps_its_verdicts(
    release, ubuntu, maintainer, staff, django_capture_on_commit_callbacks
):
    from releases.models import Release

    submission = _passed(release, ubuntu, maintainer, django_capture_on_commit_callbacks)
    Submission.objects.filter(pk=submission.pk).update(state="accepted")
    reverification = _save(release.project, STRICTER, 1, staff, django_capture_on_commit_callbacks)
    Release.objects.filter(pk=release.pk).update(state=Release.State.RELEASED)
    assert services.submission_reverify(item_id=reverification.items.get().pk) == "skipped: closed"
    assert Submission.objects.get(pk=submission.pk).state == "accepted"


@pytest.mark.django_db
def test_an_item_whose_work_crashes_is_closed_and_a_lost_one_is_queued_again(
    release, ubuntu, maintainer, staff, django_capture_on_commit_callbacks, monkeypatch
):
    from datetime import timedelta

    from django.utils import timezone

    from releases.recovery import sweeper
    from releases.verification.tasks import submission_reverify_task

    _passed(release, ubuntu, maintainer, django_capture_on_commit_callbacks)
    reverification = _save(release.project, STRICTER, 1, staff, django_capture_on_commit_callbacks)
    item = reverification.items.get()
    later = timezone.now() + timedelta(hours=2)
    assert sweeper.reverifications_requeue_lost(now=later) == [item.pk]

    def crash(**_):
        raise KeyError("x")

    monkeypatch.setattr(services, "submission_reverify", crash)
    assert submission_reverify_task(item.pk) == "crashed"
    item.refresh_from_db()
    assert item.done_at and item.verdict_after == "error"
    assert sweeper.reverifications_requeue_lost(now=later) == []


@pytest.mark.django_db
def test_a_stored_version_this_engine_refuses_is_passed_over_and_the_editor_says_why(
    client, release, ubuntu, maintainer, staff, django_capture_on_commit_callbacks
):
    from releases.policies import text_sha256, version_in_force

    project = release.project
    first = current_version(project)
    future = BASE.replace("[layout]", "future_key = 1\n\n[layout]", 1)
    PolicyVersion.objects.create(
        project=project, number=2, text=future, sha256=text_sha256(future), note="newer engine"
    )
    assert version_in_force(project) == first
    submission = _passed(release, ubuntu, maintainer, django_capture_on_commit_callbacks)
    assert submission.policy_version == first
    assert client.get(reverse("project-guide", args=[project.slug])).status_code == 200
    assert (
        client.get(reverse("project-policy-text", args=[project.slug]))["X-Policy-Version"] == "1"
    )
    client.force_login(staff)
    html = client.get(editor(project)).content.decode()
    assert "cannot read version 2, so uploads are judged by version 1" in html
    assert "future_key" in html


@pytest.mark.django_db
def test_odd_requests_to_the_policy_pages_are_answered_not_500(client, project, staff):
    from accounts.models import ApiToken

    client.force_login(staff)
    current_version(project)
    progress = reverse("staff-policy-progress", args=[project.slug])
    assert client.get(progress, {"release": "²"}).status_code == 404
    client.force_login(UserFactory(username="site-admin", is_staff=True))
    made = client.post(
        reverse("staff-project-new"),
        {"name": 'Back\\slash "quoted"', "slug": "odd", "homepage": "", "policy_text": ""},
    )
    assert made.status_code == 302
    client.force_login(staff)
    assert rules_for(PolicyVersion.objects.get(project__slug="odd").project).description == (
        'Back\\slash "quoted" packaging policy'
    )
    token = {"HTTP_AUTHORIZATION": "Token " + ApiToken.issue(user=staff, name="ci")[1]}
    nul = client.post(
        reverse("api-policy", args=[project.slug]),
        {"text": STRICTER, "note": "a\x00b", "base": 1},
        content_type="application/json",
        **token,
    )
    assert nul.status_code == 400 and "NUL" in nul.json()["error"]
    many = BASE.replace("[layout]", "".join(f"k{n} = 1\n" for n in range(300)) + "[layout]", 1)
    review = post(client, project, many, action="review", base=1)
    assert review.status_code == 400 and "… and 250 more" in review.content.decode()


@pytest.mark.django_db
def test_a_project_names_a_shipped_policy_never_a_file_of_the_server(project):
    import bundlecheck

    from releases.models import Project

    snooping = Project.objects.create(slug="snoop", name="Snoop", policy="/etc/passwd")
    with pytest.raises(bundlecheck.PolicyError, match="no shipped policy"):
        current_version(snooping)
    assert not snooping.policy_versions.exists()
