"""Writes of a project's people: a request for a new project and its decision, and
the team's members and roles. Each ends with one event in its transaction."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal import openpgp
from portal.errors import BadInput, Conflict
from releases import keys
from releases.events import Event, event_record
from releases.models import Project, ProjectKey, ProjectMember, ProjectRequest
from releases.policies import PolicyInvalid, policy_problems, seed_version

Role = ProjectMember.Role


def _short_name_free(slug: str) -> None:
    if Project.objects.filter(slug=slug).exists():
        raise Conflict(f"A project with the short name {slug} exists already.", field="slug")
    if ProjectRequest.objects.filter(slug=slug, state=ProjectRequest.State.REQUESTED).exists():
        raise Conflict(
            f"A project with the short name {slug} is waiting for approval already: "
            "choose another short name.",
            field="slug",
        )


@transaction.atomic
def project_request_create(
    *, actor, name: str, slug: str, homepage: str, repository: str, policy_text: str
) -> ProjectRequest:
    """Anyone with an account asks for a new project; a site administrator decides."""
    problems = policy_problems(policy_text, f"{slug} policy")
    if problems:
        raise PolicyInvalid(problems)
    _short_name_free(slug)
    try:
        with transaction.atomic():
            asked = ProjectRequest.objects.create(
                name=name,
                slug=slug,
                homepage=homepage,
                repository=repository,
                policy_text=policy_text,
                requested_by=actor,
            )
    except IntegrityError:  # the same short name asked for twice at once
        raise Conflict(
            f"A project with the short name {slug} is waiting for approval already.", field="slug"
        ) from None
    event_record(Event.PROJECT_REQUESTED, actor=actor, target=asked, slug=slug)
    return asked


def _waiting(asked: ProjectRequest) -> ProjectRequest:
    locked = ProjectRequest.objects.select_for_update(no_key=True).get(pk=asked.pk)
    if locked.state != ProjectRequest.State.REQUESTED:
        raise Conflict(f"This request was {locked.get_state_display()} already.")
    return locked


@transaction.atomic
def project_request_approve(*, request: ProjectRequest, actor) -> Project:
    """The project is made, with version 1 of the policy asked for; its asker is its owner."""
    asked = _waiting(request)
    if Project.objects.filter(slug=asked.slug).exists():
        raise Conflict(
            f"A project with the short name {asked.slug} was made meanwhile: decline this "
            "request and ask for another short name."
        )
    project = Project.objects.create(
        name=asked.name,
        slug=asked.slug,
        homepage=asked.homepage,
        repository=asked.repository,
        policy="",
    )
    seed_version(
        project, asked.policy_text, "Written when the project was asked for.", asked.requested_by
    )
    ProjectMember.objects.create(
        project=project, user=asked.requested_by, role=Role.OWNER, added_by=actor
    )
    asked.state = ProjectRequest.State.APPROVED
    asked.decided_by, asked.decided_at, asked.project = actor, timezone.now(), project
    asked.save(update_fields=["state", "decided_by", "decided_at", "project"])
    event_record(
        Event.PROJECT_CREATED,
        actor=actor,
        target=project,
        request=asked.pk,
        owner=asked.requested_by.get_username(),
    )
    return project


@transaction.atomic
def project_request_decline(*, request: ProjectRequest, actor, reason: str = "") -> ProjectRequest:
    asked = _waiting(request)
    asked.state = ProjectRequest.State.DECLINED
    asked.reason = reason
    asked.decided_by, asked.decided_at = actor, timezone.now()
    asked.save(update_fields=["state", "reason", "decided_by", "decided_at"])
    event_record(Event.PROJECT_REQUEST_DECLINED, actor=actor, target=asked, reason=reason)
    return asked


# --- the team ---------------------------------------------------------------


def _person(who: str):
    """The active account named by a username or an address."""
    who = who.strip()
    people = get_user_model().objects.filter(is_active=True)
    found = list(
        people.filter(email__iexact=who)[:2] if "@" in who else people.filter(username=who)
    )
    if len(found) > 1:
        raise BadInput(
            f"Several accounts use the address {who}: invite the person by username.", field="who"
        )
    if not found:
        raise BadInput(
            f"No account on this portal has the username or address {who}: ask the person "
            "to sign up, then invite them.",
            field="who",
        )
    return found[0]


def _lock_team(project: Project) -> None:
    """Team changes of one project wait for each other, so two owners removing each
    other at once cannot leave the project without an owner."""
    Project.objects.select_for_update(no_key=True).filter(pk=project.pk).first()


def _last_owner_refusal(member: ProjectMember, actor, doing: str) -> None:
    if member.role != Role.OWNER:
        return
    others = (
        ProjectMember.objects.filter(project=member.project_id, role=Role.OWNER)
        .exclude(pk=member.pk)
        .exists()
    )
    if not others:
        whom = "you are" if member.user_id == getattr(actor, "pk", None) else f"{member.user} is"
        raise Conflict(
            f"Cannot {doing}: {whom} the last owner of {member.project}. "
            "Make another member an owner first."
        )


@transaction.atomic
def member_add(*, project: Project, who: str, role: str, actor) -> ProjectMember:
    user = _person(who)
    _lock_team(project)
    existing = ProjectMember.objects.filter(project=project, user=user).first()
    if existing is not None:
        raise Conflict(
            f"{user} is on the team already, as {existing.get_role_display()}: "
            "change the role in the list instead.",
            field="who",
        )
    member = ProjectMember.objects.create(project=project, user=user, role=role, added_by=actor)
    event_record(
        Event.MEMBER_ADDED, actor=actor, target=member, user=user.get_username(), role=role
    )
    return member


@transaction.atomic
def member_role_change(*, member: ProjectMember, role: str, actor) -> ProjectMember:
    _lock_team(member.project)
    member = ProjectMember.objects.select_related("project", "user").get(pk=member.pk)
    if member.role == role:
        return member
    if role != Role.OWNER:
        _last_owner_refusal(member, actor, f"make {member.user} a {Role(role).label}")
    was = member.role
    member.role = role
    member.save(update_fields=["role"])
    event_record(
        Event.MEMBER_ROLE_CHANGED,
        actor=actor,
        target=member,
        user=member.user.get_username(),
        role=role,
        was=was,
    )
    return member


@transaction.atomic
def member_remove(*, member: ProjectMember, actor) -> None:
    _lock_team(member.project)
    member = ProjectMember.objects.select_related("project", "user").get(pk=member.pk)
    _last_owner_refusal(member, actor, f"remove {member.user} from the team")
    event_record(
        Event.MEMBER_REMOVED,
        actor=actor,
        target=member,
        user=member.user.get_username(),
        role=member.role,
    )
    member.delete()


# --- the project's keys -------------------------------------------------------


def _retire_portal_keys(project: Project, now) -> list[str]:
    """Rotation: the portal-held key in use stops signing; it stays in KEYS."""
    current = ProjectKey.objects.filter(project=project, retired_at__isnull=True).exclude(
        secret_encrypted=""
    )
    retired = list(current.values_list("fingerprint", flat=True))
    current.update(retired_at=now)
    return retired


def _key_store(
    *, project, public, secret_armor: str, actor, how: str, passphrase: str | None = None
) -> ProjectKey:
    if ProjectKey.objects.filter(project=project, fingerprint=public.fingerprint).exists():
        raise Conflict(f"Key {public.fingerprint} is in {project}'s KEYS already.")
    retired = []
    if secret_armor:
        encrypted = keys.secret_encrypt(secret_armor, passphrase)  # before anything is written
        retired = _retire_portal_keys(project, timezone.now())
    else:
        encrypted = ""
    key = ProjectKey.objects.create(
        project=project,
        fingerprint=public.fingerprint,
        user_id=public.user_id[:300],
        public_armor=public.armor,
        secret_encrypted=encrypted,
        added_by=actor,
    )
    event_record(
        Event.KEY_ADDED,
        actor=actor,
        target=key,
        fingerprint=key.fingerprint,
        how=how,
        portal_held=bool(secret_armor),
        retired=retired,
    )
    return key


@transaction.atomic
def project_key_generate(*, project: Project, actor) -> ProjectKey:
    """A new portal-held key for `project`; the one in use before is retired (rotation)."""
    _lock_team(project)
    try:
        keys.secret_encrypt("")  # the key store is there before gpg works
    except keys.KeyStoreUnavailable as error:
        raise Conflict(str(error)) from None
    made = openpgp.key_generate(f"{project.name} releases", f"releases+{project.slug}@invalid")
    public = openpgp.key_inspect(openpgp.public_keys(made))
    return _key_store(
        project=project, public=public, secret_armor=made.secret_armor, actor=actor, how="generated"
    )


@transaction.atomic
def project_key_upload(*, project: Project, armor: str, passphrase: str, actor) -> ProjectKey:
    """An owner's own secret key for the portal to hold, with its passphrase if any,
    and encrypted at rest; refused when it cannot sign, has expired or is revoked."""
    _lock_team(project)
    try:
        secret, public = openpgp.secret_key_inspect(armor, passphrase or None)
    except openpgp.KeyRefused as refused:
        raise BadInput(str(refused), field="secret_key") from None
    try:
        return _key_store(
            project=project,
            public=public,
            secret_armor=secret.secret_armor,
            passphrase=secret.passphrase,
            actor=actor,
            how="uploaded",
        )
    except keys.KeyStoreUnavailable as error:
        raise Conflict(str(error)) from None


@transaction.atomic
def project_key_add_public(*, project: Project, armor: str, actor) -> ProjectKey:
    """A release manager's public key in the project's KEYS: their offline signatures
    are verified against it. A secret key, a key that cannot sign, an expired or
    revoked one are refused."""
    _lock_team(project)
    try:
        public = openpgp.key_inspect(armor)
    except openpgp.KeyRefused as refused:
        raise BadInput(str(refused), field="public_key") from None
    return _key_store(project=project, public=public, secret_armor="", actor=actor, how="public")


@transaction.atomic
def project_key_retire(*, key: ProjectKey, actor) -> ProjectKey:
    """The key signs no more releases; KEYS keeps it for those it signed."""
    if key.retired_at is not None:
        raise Conflict(f"Key {key.fingerprint} is retired already.")
    key.retired_at = timezone.now()
    key.save(update_fields=["retired_at"])
    event_record(Event.KEY_RETIRED, actor=actor, target=key, fingerprint=key.fingerprint)
    return key


@transaction.atomic
def project_signing_set(*, project: Project, signing: str, actor) -> Project:
    project = Project.objects.select_for_update(no_key=True).get(pk=project.pk)
    if project.signing == signing:
        return project
    was, project.signing = project.signing, signing
    project.save(update_fields=["signing"])
    event_record(Event.SIGNING_CHANGED, actor=actor, target=project, signing=signing, was=was)
    return project
