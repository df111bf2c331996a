"""The pause image: a tiny static ELF, built here as bytes and `docker import`ed, with no pull.

An awsvpc task's containers join the network namespace of a pause container, as on Fargate, so
the namespace outlives any one of them. The program blocks SIGTERM and SIGINT and waits for them
with rt_sigtimedwait, then exits 0: a `docker stop` ends it at once, even as PID 1 (the kernel
drops default-action signals sent to a namespace's init, but queues blocked ones).

The machine code is listed beside its bytes (checked with GNU as and objdump).
"""

from __future__ import annotations

import hashlib
import io
import platform
import struct
import tarfile
import threading

REPOSITORY = "ecs-emulator/pause"
_BASE = 0x400000
_HEADERS = 64 + 56  # one ELF64 header and one program header; the code follows

# x86_64, Linux syscalls: rt_sigprocmask 14, rt_sigtimedwait 128, exit_group 231.
_X86_64 = bytes.fromhex(
    "6802400000"    # push 0x4002            ; sigset {SIGINT, SIGTERM} on the stack
    "4889e6"        # mov rsi, rsp
    "31ff"          # xor edi, edi           ; SIG_BLOCK
    "31d2"          # xor edx, edx           ; no old set
    "41ba08000000"  # mov r10d, 8            ; sizeof(sigset)
    "b80e000000"    # mov eax, 14            ; rt_sigprocmask
    "0f05"          # syscall
    "4889e7"        # loop: mov rdi, rsp
    "31f6"          # xor esi, esi           ; no siginfo
    "31d2"          # xor edx, edx           ; no timeout: wait forever
    "41ba08000000"  # mov r10d, 8
    "b880000000"    # mov eax, 128           ; rt_sigtimedwait
    "0f05"          # syscall
    "85c0"          # test eax, eax
    "78e8"          # js loop                ; interrupted: wait again
    "b8e7000000"    # mov eax, 231           ; exit_group(0)
    "31ff"          # xor edi, edi
    "0f05"          # syscall
)

# aarch64, generic syscalls: rt_sigprocmask 135, rt_sigtimedwait 137, exit_group 94.
_AARCH64 = b"".join(struct.pack("<I", word) for word in (
    0xD2880040,  # mov x0, #0x4002          ; sigset {SIGINT, SIGTERM}
    0xD10043FF,  # sub sp, sp, #16          ; sp stays 16-byte aligned
    0xF90003E0,  # str x0, [sp]
    0xD2800000,  # mov x0, #0               ; SIG_BLOCK
    0x910003E1,  # mov x1, sp
    0xD2800002,  # mov x2, #0
    0xD2800103,  # mov x3, #8
    0xD28010E8,  # mov x8, #135             ; rt_sigprocmask
    0xD4000001,  # svc #0
    0x910003E0,  # loop: mov x0, sp
    0xD2800001,  # mov x1, #0
    0xD2800002,  # mov x2, #0
    0xD2800103,  # mov x3, #8
    0xD2801128,  # mov x8, #137             ; rt_sigtimedwait
    0xD4000001,  # svc #0
    0xB7FFFF40,  # tbnz x0, #63, loop       ; interrupted: wait again
    0xD2800000,  # mov x0, #0
    0xD2800BC8,  # mov x8, #94              ; exit_group(0)
    0xD4000001,  # svc #0
))

_MACHINES = {  # platform.machine() -> (e_machine, code)
    "x86_64": (62, _X86_64), "amd64": (62, _X86_64),
    "aarch64": (183, _AARCH64), "arm64": (183, _AARCH64),
}

_lock = threading.Lock()


def pause_elf(machine: str | None = None) -> bytes:
    """A static ELF64 executable for `machine` (default: this host's) that waits for SIGTERM."""
    machine = (machine or platform.machine()).lower()
    if machine not in _MACHINES:
        raise ValueError(f"no pause program for machine {machine!r}")
    e_machine, code = _MACHINES[machine]
    size = _HEADERS + len(code)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # 64-bit, little-endian, SysV
    header = ident + struct.pack(
        "<HHIQQQIHHHHHH",
        2, e_machine, 1,  # ET_EXEC, machine, EV_CURRENT
        _BASE + _HEADERS, 64, 0,  # entry, program headers at 64, no section headers
        0, 64, 56, 1, 64, 0, 0,  # flags, header sizes, one program header, no sections
    )
    program = struct.pack(
        "<IIQQQQQQ",
        1, 5, 0, _BASE, _BASE,  # PT_LOAD, R+X, the whole file at _BASE
        size, size, 0x1000,
    )
    return header + program + code


def pause_tar(elf: bytes) -> bytes:
    """A root filesystem holding only /pause."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("pause")
        info.size, info.mode = len(elf), 0o755
        tar.addfile(info, io.BytesIO(elf))
    return buffer.getvalue()


def pause_image_tag(machine: str | None = None) -> str:
    """The image's name; its tag follows the program's bytes, so a changed program gets a new one."""
    digest = hashlib.sha256(pause_elf(machine)).hexdigest()[:12]
    return f"{REPOSITORY}:1-{digest}"


def ensure_pause_image(api) -> str:
    """Import the pause image into the engine behind `api` (a docker APIClient) unless it is there."""
    import docker.errors

    tag = pause_image_tag()
    with _lock:
        try:
            api.inspect_image(tag)
            return tag
        except docker.errors.ImageNotFound:
            pass
        repository, version = tag.split(":")
        api.import_image_from_data(
            pause_tar(pause_elf()), repository=repository, tag=version,
            changes=['CMD ["/pause"]', 'LABEL ecs-emulator.role="pause"'],
        )
        return tag
