"""The OpenAPI description of the maintainers' API, served at /api/v1/openapi.json."""

_error = {"$ref": "#/components/schemas/Error"}
_errors = {
    str(code): {"description": text, "content": {"application/json": {"schema": _error}}}
    for code, text in [
        (400, "bad input: a missing field, a refused file name or type, a sha256 mismatch"),
        (401, "no valid token"),
        (404, "no such release, distro or submission that you maintain"),
        (409, "the release takes no uploads for this distro now (frozen, withdrawn, ...)"),
        (413, "the upload is larger than the limit"),
        (429, "too many uploads; see Retry-After"),
    ]
}
_finding = {
    "type": "object",
    "properties": {
        k: {"type": "string", "nullable": k == "path"}
        for k in ("check", "severity", "path", "message", "hint", "subject")
    },
}

OPENAPI = {
    "openapi": "3.0.3",
    "info": {
        "title": "Release portal API",
        "version": "1",
        "description": "Upload distro bundles and read verification results from CI.",
    },
    "servers": [{"url": "/api/v1"}],
    "components": {
        "securitySchemes": {
            "token": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "`Token <key>`; keys are made on the profile page.",
            }
        },
        "schemas": {
            "Error": {
                "type": "object",
                "properties": {"error": {"type": "string"}},
                "required": ["error"],
            },
            "Finding": _finding,
            "Submission": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "state": {"type": "string"},
                    "progress": {"type": "integer"},
                    "verdict": {
                        "type": "string",
                        "enum": ["pass", "fail", "error"],
                        "nullable": True,
                    },
                    "sha256": {"type": "string"},
                    "findings": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/Finding"},
                    },
                },
            },
        },
    },
    "security": [{"token": []}],
    "paths": {
        "/projects/{project}/releases/{version}/distros/{distro}/submissions/": {
            "post": {
                "summary": "Upload a revised source package or distro bundle",
                "parameters": [
                    {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                    for n in ("project", "version", "distro")
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["bundle"],
                                "properties": {
                                    "bundle": {"type": "string", "format": "binary"},
                                    "sha256": {
                                        "type": "string",
                                        "description": "refuse unless the file has it",
                                    },
                                    "package_url": {
                                        "type": "array",
                                        "items": {"type": "string"},
                                        "description": "`URL` or `URL SHA256`, repeatable",
                                    },
                                    "package": {
                                        "type": "string",
                                        "format": "binary",
                                        "description": ".deb or .rpm for upstream to stage",
                                    },
                                    "note": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "201": {
                        "description": "stored; verification queued",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "id": {"type": "integer"},
                                        "url": {"type": "string"},
                                        "state": {"type": "string"},
                                        "sha256": {"type": "string"},
                                    },
                                }
                            }
                        },
                    },
                    "200": {"description": "these bytes were uploaded before: that submission"},
                    **_errors,
                },
            }
        },
        "/submissions/{id}/": {
            "get": {
                "summary": "A submission's state, progress, verdict and findings",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
                "responses": {
                    "200": {
                        "description": "the submission",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Submission"}
                            }
                        },
                    },
                    "401": _errors["401"],
                    "404": _errors["404"],
                },
            }
        },
        "/projects/{project}/releases/{version}/": {
            "get": {
                "summary": "A release, its dates and state, and each distro's latest submission",
                "parameters": [
                    {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                    for n in ("project", "version")
                ],
                "responses": {
                    "200": {"description": "the release"},
                    "401": _errors["401"],
                    "404": _errors["404"],
                },
            }
        },
    },
}
