"""Extra processes serving the MX and IMAP ports beside the main one (`smtp.mx_processes`,
`imap.processes`; 0, the default, is one per core).

One Python process accepts MX mail, or serves IMAP sessions, at the speed of one core:
TLS, parsing and policy hold the interpreter lock (docs/design-notes.md, Performance).
With `smtp.mx_processes = N`, the main process and N - 1 extra processes bind the MX port
with SO_REUSEPORT and the kernel spreads incoming connections among them; `imap.processes
= M` does the same for the IMAP ports (143, 993), and max(N, M) - 1 extra processes run,
the first N - 1 serving MX, the first M - 1 IMAP. IMAP IDLE in an extra process hears
every change through the same events as the main one. Each extra process opens the same
store: on SQLite its writes queue on the cross-process write lock
(mss.store.sqlite_driver), its change events and outbound-queue wake-ups reach the main
process through mss.store.process_link; on PostgreSQL events travel by NOTIFY as between
nodes.

Invariants: extra processes start after the main MX and IMAP listeners are bound (they
take their ports, even ones picked by port 0) and stop before the main process closes the
store; one that dies is restarted; an MX process stops when SIGTERM comes or its link to
the main process breaks (a main process killed outright leaves none behind).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Coroutine, Mapping
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from mss.background import stop_tasks
from mss.config import Settings, process_count
from mss.event_log import configure_logging
from mss.store.process_link import ProcessHub
from mss.store.store import Store

log = logging.getLogger(__name__)
QUEUE_WAKEUP = "smtp_queue"  # the outbound queue worker, which runs in the main process
NOTICE_WAKEUP = "patient_notices"  # the patient notice worker, main process too
START_TIMEOUT = 120.0  # seconds for an MX process to import, open the store and bind
STOP_TIMEOUT = 60.0  # seconds for it to drain its sessions before it is killed
RESTART_DELAY = 5.0  # seconds: an MX process that dies younger is restarted this late
HUB_SOCKET = "mx-processes.sock"
MAX_SOCKET_PATH = 100

ServeMxProcess = Callable[[Settings, int, Path, Connection], Coroutine[object, object, None]]
"""Serve as MX process `index` until SIGTERM or the link to `hub` breaks; send "ready" on
the pipe once listening. A module-level function: the spawned process imports it."""


class MxProcesses:
    """The main process's view of its MX processes and of the hub linking them.

    Like Postfix's master, it restarts an MX process that dies (a crash, the OOM
    killer): the port stays served by the others meanwhile; a process that dies within
    RESTART_DELAY of its start is restarted only after that delay (no crash loop)."""

    def __init__(self, settings: Settings, store: Store, port: int, node_id: str, *,
                 serve: ServeMxProcess, wakeups: Mapping[str, Callable[[], None]],
                 imap_ports: Callable[[], dict[str, int]] = dict) -> None:
        self.settings = settings
        self.port = port  # the MX port (0: no MX listener in the main process)
        self.imap_ports = imap_ports  # "imap"/"imaps" → bound port, read at start
        self.ports: dict[str, tuple[int, int]] = {}
        self.node_id = node_id
        self.serve = serve
        self.hub = ProcessHub(store.bus, hub_path(settings), send_events=not store.clustered)
        self.hub.wakeups.update(wakeups)
        self.processes: dict[int, BaseProcess] = {}  # by index, 1 to N - 1
        self.restarts = 0
        self.restarted = asyncio.Event()  # set after each restart (tests, operators' logs)
        self._watchers: list[asyncio.Task[None]] = []
        self._stopping = False

    async def start(self) -> list[str]:
        await self.hub.start()
        self.ports = self._ports()
        indexes = range(1, extra_processes(self.settings) + 1)
        try:
            await asyncio.gather(*(self._start_one(index) for index in indexes))
        except BaseException:
            await self.stop()
            raise
        self._watchers = [asyncio.create_task(self._watch(index), name=f"mss-mx-{index}-watch")
                          for index in indexes]
        return [f"{name} also served by {count} more process(es) on port {port}"
                for name, (port, count) in self.ports.items()]

    def _ports(self) -> dict[str, tuple[int, int]]:
        """Listener → (its bound port, how many extra processes serve it)."""
        mx = process_count(self.settings.smtp.mx_processes) - 1
        imap = process_count(self.settings.imap.processes) - 1
        ports = {"MX": (self.port, mx)} if self.port and mx > 0 else {}
        if imap > 0:
            for key, port in self.imap_ports().items():
                ports[key.upper()] = (port, imap)
        return ports

    async def _start_one(self, index: int) -> None:
        context = multiprocessing.get_context("spawn")  # no copy of this event loop
        ours, theirs = context.Pipe()
        process = context.Process(
            target=run_mx_process, name=f"mss-mx-{index}", daemon=True,
            args=(self.serve, mx_process_settings(self.settings, index, self.port, self.node_id,
                                                  self.imap_ports()),
                  index, str(self.hub.path), theirs, logging.getLogger().getEffectiveLevel()))
        process.start()
        theirs.close()
        self.processes[index] = process
        answer = await asyncio.to_thread(_answer, ours, START_TIMEOUT)
        if answer != "ready":
            raise RuntimeError(f"{process.name} did not start: {answer}")

    async def _watch(self, index: int) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            process = self.processes[index]
            started = loop.time()
            await _exited(process)
            if self._stopping:
                return
            log.error("%s exited (code %s): restarting it", process.name, process.exitcode)
            if loop.time() - started < RESTART_DELAY:
                await asyncio.sleep(RESTART_DELAY)  # a backoff, not a synchronisation
            try:
                await self._start_one(index)
            except RuntimeError:
                log.exception("restarting mss-mx-%d failed; trying again", index)
                continue
            self.restarts += 1
            self.restarted.set()

    async def stop(self) -> None:
        self._stopping = True
        await stop_tasks(self._watchers)
        self._watchers.clear()
        for process in self.processes.values():
            if process.is_alive():
                process.terminate()  # SIGTERM: stop accepting, finish, close the store
        for process in self.processes.values():
            await asyncio.to_thread(process.join, STOP_TIMEOUT)
            if process.is_alive():
                log.error("%s did not stop in time: killed", process.name)
                process.kill()
                await asyncio.to_thread(process.join, 5)
        self.processes.clear()
        await self.hub.stop()
        if self.hub.path.parent != self.settings.data_dir.resolve():
            with contextlib.suppress(OSError):
                self.hub.path.parent.rmdir()  # the private folder hub_path made


async def _exited(process: BaseProcess) -> None:
    """Wait, without a thread, until `process` ends (its sentinel becomes readable)."""
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[None] = loop.create_future()

    def on_end() -> None:
        if not ended.done():
            ended.set_result(None)

    loop.add_reader(process.sentinel, on_end)
    try:
        await ended
    finally:
        loop.remove_reader(process.sentinel)
    process.join()  # ended: reaps it at once


def hub_path(settings: Settings) -> Path:
    """In the data folder, unless its path is too long for a Unix socket address (108
    bytes on Linux): then in a new private folder under the system's temporary one."""
    path = settings.data_dir.resolve() / HUB_SOCKET
    if len(os.fsencode(path)) < MAX_SOCKET_PATH:
        return path
    return Path(tempfile.mkdtemp(prefix="mss-")) / HUB_SOCKET


def extra_processes(settings: Settings) -> int:
    """How many processes serve MX or IMAP beside the main one."""
    listeners = settings.listeners
    mx = process_count(settings.smtp.mx_processes) if listeners.mx.enabled else 1
    imap_on = listeners.imap.enabled or listeners.imaps.enabled
    imap = process_count(settings.imap.processes) if imap_on else 1
    return max(mx, imap) - 1


def mx_process_settings(settings: Settings, index: int, port: int, node_id: str,
                        imap_ports: Mapping[str, int] | None = None) -> Settings:
    """The main settings with only the listeners extra process `index` serves (MX when
    index < smtp.mx_processes, IMAP when index < imap.processes), on the ports the main
    process bound."""
    ours = copy.deepcopy(settings)
    for name in ("submission", "submissions", "imap", "imaps", "http"):
        getattr(ours.listeners, name).enabled = False
    ours.listeners.mx.port = port
    ours.listeners.mx.enabled = bool(port) and index < process_count(settings.smtp.mx_processes)
    if index < process_count(settings.imap.processes):
        for key, bound in (imap_ports or {}).items():
            listener = getattr(ours.listeners, key)
            listener.enabled, listener.port = True, bound
    ours.server.node_id = f"{node_id}-mx{index}"  # PostgreSQL NOTIFY tells nodes apart by it
    return ours


def _answer(pipe: Connection, timeout: float) -> str:
    try:
        if not pipe.poll(timeout):
            return "no answer in time"
        return str(pipe.recv())
    except EOFError:
        return "exited (see its log)"
    finally:
        pipe.close()


def run_mx_process(serve: ServeMxProcess, settings: Settings, index: int, hub: str,
                   pipe: Connection, log_level: int) -> None:
    """Entry point of an MX process (spawned): logs like `mss serve`, at its level, and
    runs `serve` (the composition root's, mss.app.serve_mx_process)."""
    configure_logging(settings.logging.format, verbose=log_level <= logging.DEBUG,
                      process=f"mx{index}")
    try:
        asyncio.run(serve(settings, index, Path(hub), pipe))
    except Exception as exc:
        with contextlib.suppress(OSError):
            pipe.send(f"{type(exc).__name__}: {exc}")
        raise

