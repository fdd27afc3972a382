"""The OpenAPI 3.1 description of the JSON API, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

_RESULT = {
    "type": "object",
    "properties": {
        "address": {"type": "string"}, "accepted": {"type": "boolean"},
        "code": {"type": "integer", "description": "SMTP reply code the pipeline decided"},
        "enhanced": {"type": "string", "description": "RFC 3463 enhanced status"},
        "rule": {"type": "string", "description": "MSS policy rule (T1..S3, OK)"},
        "reason": {"type": "string", "description": "French sentence, then English"},
        "delivered": {"type": "boolean"}, "queued": {"type": "boolean"},
    },
}
_ATTACHMENT = {
    "type": "object", "required": ["content_base64"],
    "properties": {"filename": {"type": "string"}, "content_type": {"type": "string"},
                   "content_base64": {"type": "string", "contentEncoding": "base64"}},
}
_MESSAGE = {
    "type": "object", "required": ["to"],
    "properties": {
        "to": {"type": "array", "items": {"type": "string", "format": "email"},
               "minItems": 1, "maxItems": 100},
        "subject": {"type": "string"}, "text": {"type": "string"},
        "html": {"type": "string"}, "from_name": {"type": "string"},
        "headers": {"type": "object", "additionalProperties": {"type": "string"},
                    "description": "Reply-To, X-MSS-MES, X-MSS-CODECDA, X-MSS-INS, "
                                   "X-MSS-NIL, In-Reply-To, References, "
                                   "Disposition-Notification-To"},
        "attachments": {"type": "array", "items": _ATTACHMENT},
    },
}
_APPOINTMENT = {
    "type": "object", "required": ["patient", "uid", "start", "end"],
    "description": "Translated into an iCalendar REQUEST (RFC 5546 §3.2.2) whose organiser "
                   "is the authenticated APP mailbox: a later sequence of the same uid "
                   "updates it, as a convocation by mail would.",
    "properties": {
        "patient": {"type": "string", "description": "the patient's INS or address"},
        "uid": {"type": "string", "maxLength": 300,
                "description": "stable identifier of the appointment in your software"},
        "sequence": {"type": "integer", "minimum": 0, "default": 0,
                     "description": "revision (RFC 5545 §3.8.7.4); a lower one is refused"},
        "start": {"type": "string", "format": "date-time",
                  "description": "ISO 8601 with a UTC offset"},
        "end": {"type": "string", "format": "date-time",
                "description": "after start, at most 31 days later"},
        "all_day": {"type": "boolean", "default": False},
        "summary": {"type": "string", "maxLength": 300},
        "location": {"type": "string", "maxLength": 300},
    },
}
_CANCEL = {
    "type": "object", "required": ["patient", "uid"],
    "description": "Translated into an iCalendar CANCEL (RFC 5546 §3.2.5) of every "
                   "occurrence of uid this application sent.",
    "properties": {"patient": {"type": "string"}, "uid": {"type": "string"},
                   "sequence": {"type": "integer", "minimum": 0, "default": 0}},
}
_STORED_APPOINTMENT = {
    "type": "object",
    "properties": {"uid": {"type": "string"}, "start": {"type": "string", "format": "date-time"},
                   "end": {"type": "string", "format": "date-time"},
                   "all_day": {"type": "boolean"}, "summary": {"type": "string"},
                   "location": {"type": "string"}, "cancelled": {"type": "boolean"},
                   "source": {"type": "string", "enum": ["message", "api"]}},
}
_APPLIED = {"type": "object", "properties": {
    "uid": {"type": "string"},
    "result": {"type": "string", "enum": ["created", "updated", "cancelled"]}}}
_ACCESS = {
    "type": "object",
    "description": "One professional who can see (or, blocked, could see) the patient's "
                   "documents; `documents` counts what the access matrix opens to them "
                   "today, per space.",
    "properties": {
        "id": {"type": "string", "description": "to name them in block/unblock"},
        "name": {"type": "string"}, "profession": {"type": "string"},
        "profession_code": {"type": "string"}, "specialty": {"type": "string"},
        "why": {"type": "array", "items": {"type": "string", "enum": [
            "in_care", "attending_physician", "break_glass"]}},
        "blocked": {"type": "boolean"},
        "documents": {"type": "array", "items": {"type": "object", "properties": {
            "space": {"type": "string"}, "count": {"type": "integer"}}}},
    },
}
_ACCESS_LIST = {"type": "object", "properties": {
    "csrf_token": {"type": "string", "description": "send it back as X-CSRF-Token"},
    "professionals": {"type": "array", "items": {"$ref": "#/components/schemas/Access"}}}}


def _patient_change(verb: str) -> dict[str, Any]:
    return {"post": {
        "summary": f"{verb.capitalize()} one of the listed professionals "
                   "(the patient's own record)",
        "security": [{"patient_session": []}],
        "parameters": [
            {"name": "professional", "in": "path", "required": True,
             "schema": {"type": "string"}, "description": "an `id` from the listing"},
            {"name": "X-CSRF-Token", "in": "header", "required": True,
             "schema": {"type": "string"}}],
        "responses": {
            "200": {"description": "done (audited); the listing as it is now",
                    "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/AccessList"}}}},
            "401": {"description": "no patient session"},
            "403": {"description": "missing or wrong X-CSRF-Token"},
            "404": {"description": "not a professional who can see her documents",
                    "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/Error"}}}}}}}


_ERROR = {"type": "object", "properties": {"error": {"type": "string"},
                                           "detail": {"type": "string"}}}

def _applied() -> dict[str, Any]:
    return {"content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/Applied"}}}}


def _error() -> dict[str, Any]:
    return {"content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/Error"}}}}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "MSS API", "version": "1",
             "description": "Send messages and appointments from hospital software through "
                            "an APP mailbox. Every message goes through the same policy as "
                            "SMTP; every appointment becomes the same agenda change as an "
                            "iCalendar convocation by mail."},
    "servers": [{"url": "/api/v1"}],
    "components": {
        "securitySchemes": {"bearer": {
            "type": "http", "scheme": "bearer",
            "description": "A token of an APP mailbox: `mss api token create ADDRESS`."},
            "patient_session": {
                "type": "apiKey", "in": "cookie", "name": "mss_session",
                "description": "The patient's web session (log in on /login); changes "
                               "also carry X-CSRF-Token."}},
        "schemas": {"Message": _MESSAGE, "RecipientResult": _RESULT, "Error": _ERROR,
                    "Appointment": _APPOINTMENT, "AppointmentCancel": _CANCEL,
                    "StoredAppointment": _STORED_APPOINTMENT, "Applied": _APPLIED,
                    "Access": _ACCESS, "AccessList": _ACCESS_LIST},
    },
    "security": [{"bearer": []}],
    "paths": {
        "/me/document-access": {"get": {
            "summary": "Who can see which of the patient's documents (audited)",
            "security": [{"patient_session": []}],
            "responses": {
                "200": {"description": "the professionals she may block or unblock",
                        "content": {"application/json": {"schema": {
                            "$ref": "#/components/schemas/AccessList"}}}},
                "401": {"description": "no patient session"}}}},
        "/me/document-access/{professional}/block": _patient_change("block"),
        "/me/document-access/{professional}/unblock": _patient_change("unblock"),
        "/messages": {"post": {
            "summary": "Send a message",
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Message"}},
                "multipart/form-data": {"schema": {"type": "object", "properties": {
                    "message": {"type": "string", "description": "the Message as JSON"},
                    "attachments": {"type": "array",
                                    "items": {"type": "string", "format": "binary"}}}}},
            }},
            "responses": {
                "201": {"description": "accepted for at least one recipient",
                        "content": {"application/json": {"schema": {
                            "type": "object", "properties": {
                                "message_id": {"type": "string"},
                                "results": {"type": "array", "items": {
                                    "$ref": "#/components/schemas/RecipientResult"}}}}}}},
                "422": {"description": "refused for every recipient (same body)"},
                "400": {"description": "invalid request", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}},
                "401": {"description": "no valid bearer token"},
            },
        }},
        "/messages/{message_id}": {"get": {
            "summary": "Delivery status per recipient",
            "parameters": [{"name": "message_id", "in": "path", "required": True,
                            "schema": {"type": "string"},
                            "description": "the Message-ID returned by POST, with or "
                                           "without angle brackets, URL-encoded"}],
            "responses": {
                "200": {"description": "states: delivered, refused, queued, relayed, failed"},
                "404": {"description": "no message of this application with this id"},
                "401": {"description": "no valid bearer token"},
            },
        }},
        "/appointments": {
            "post": {
                "summary": "Create or update an appointment in a patient's agenda",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Appointment"}}}},
                "responses": {
                    "201": {"description": "created", **_applied()},
                    "200": {"description": "updated (same uid, sequence not lower)",
                            **_applied()},
                    "400": {"description": "invalid request", **_error()},
                    "401": {"description": "no valid bearer token"},
                    "404": {"description": "no patient space for this INS", **_error()},
                    "409": {"description": "a later sequence is stored; nothing changed",
                            **_error()},
                    "413": {"description": "body over 16 KiB"},
                    "422": {"description": "MSS policy R3: the patient opposed or closed "
                                           "her space", **_error()},
                },
            },
            "get": {
                "summary": "The appointments this application sent to a patient",
                "parameters": [{"name": "patient", "in": "query", "required": True,
                                "schema": {"type": "string"},
                                "description": "INS or patient address"}],
                "responses": {
                    "200": {"description": "in time order (the read is audited)",
                            "content": {"application/json": {"schema": {
                                "type": "object", "properties": {
                                    "patient": {"type": "string"},
                                    "appointments": {"type": "array", "items": {
                                        "$ref": "#/components/schemas/StoredAppointment"}}}}}}},
                    "400": {"description": "invalid request", **_error()},
                    "401": {"description": "no valid bearer token"},
                },
            },
        },
        "/appointments/cancel": {"post": {
            "summary": "Cancel an appointment this application sent",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/AppointmentCancel"}}}},
            "responses": {
                "200": {"description": "cancelled (kept, shown as cancelled)", **_applied()},
                "400": {"description": "invalid request", **_error()},
                "401": {"description": "no valid bearer token"},
                "404": {"description": "unknown patient, or no appointment with this uid "
                                       "from this application", **_error()},
                "409": {"description": "a later sequence is stored", **_error()},
                "422": {"description": "MSS policy R3", **_error()},
            },
        }},
    },
}
