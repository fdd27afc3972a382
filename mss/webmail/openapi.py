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
_ERROR = {"type": "object", "properties": {"error": {"type": "string"},
                                           "detail": {"type": "string"}}}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "MSS API", "version": "1",
             "description": "Send messages from hospital software through an APP mailbox. "
                            "Every message goes through the same policy as SMTP."},
    "servers": [{"url": "/api/v1"}],
    "components": {
        "securitySchemes": {"bearer": {
            "type": "http", "scheme": "bearer",
            "description": "A token of an APP mailbox: `mss api token create ADDRESS`."}},
        "schemas": {"Message": _MESSAGE, "RecipientResult": _RESULT, "Error": _ERROR},
    },
    "security": [{"bearer": []}],
    "paths": {
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
    },
}
