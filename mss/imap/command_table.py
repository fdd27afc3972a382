"""Command name → handler (docs/architecture.md §8.4: defined once)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mss.imap import login_commands as login
from mss.imap import mailbox_commands as mailbox
from mss.imap import message_commands as message
from mss.imap import notify, session_commands
from mss.imap import sort_commands as sort
from mss.imap.session import ImapSession

HANDLERS: dict[str, Callable[[ImapSession, Any], Any]] = {
    "CAPABILITY": session_commands.cmd_capability,
    "NOOP": session_commands.cmd_noop,
    "LOGOUT": session_commands.cmd_logout,
    "ID": session_commands.cmd_id,
    "ENABLE": session_commands.cmd_enable,
    "COMPRESS": session_commands.cmd_compress,
    "UNAUTHENTICATE": login.cmd_unauthenticate,
    "STARTTLS": login.cmd_starttls,
    "LOGIN": login.cmd_login,
    "AUTHENTICATE": login.cmd_authenticate,
    "CHECK": session_commands.cmd_check,
    "CANCELUPDATE": session_commands.cmd_cancelupdate,
    "NOTIFY": notify.cmd_notify,
    "SELECT": mailbox.cmd_select,
    "EXAMINE": mailbox.cmd_select,
    "CREATE": mailbox.cmd_create,
    "DELETE": mailbox.cmd_delete,
    "RENAME": mailbox.cmd_rename,
    "SUBSCRIBE": mailbox.cmd_subscribe,
    "UNSUBSCRIBE": mailbox.cmd_subscribe,
    "LIST": mailbox.cmd_list,
    "LSUB": mailbox.cmd_list,
    "STATUS": mailbox.cmd_status,
    "APPEND": mailbox.cmd_append,
    "NAMESPACE": mailbox.cmd_namespace,
    "IDLE": mailbox.cmd_idle,
    "GETQUOTA": mailbox.cmd_getquota,
    "GETQUOTAROOT": mailbox.cmd_getquotaroot,
    "SETQUOTA": mailbox.cmd_setquota,
    "GETACL": mailbox.cmd_getacl,
    "MYRIGHTS": mailbox.cmd_myrights,
    "LISTRIGHTS": mailbox.cmd_listrights,
    "SETACL": mailbox.cmd_setacl,
    "DELETEACL": mailbox.cmd_setacl,
    "FETCH": message.cmd_fetch,
    "STORE": message.cmd_store,
    "SEARCH": message.cmd_search,
    "SORT": sort.cmd_sort,
    "THREAD": sort.cmd_thread,
    "COPY": message.cmd_copy,
    "MOVE": message.cmd_copy,
    "EXPUNGE": message.cmd_any_expunge,
    "CLOSE": message.cmd_close,
    "UNSELECT": message.cmd_unselect,
}
