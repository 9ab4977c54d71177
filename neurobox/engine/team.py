"""Threads that run a whole chunk together and meet twice per step: atomics, a barrier, a checked start.

The parallel form of the loop (neurobox.engine.codegen) enters one numba
`prange` per chunk, with one iteration per thread, instead of one parallel
region per step (about a microsecond each, as long as a whole step of a
network of a few thousand neurons). The threads then meet at a barrier: a
counter every thread adds one to, and a generation the last one to arrive
moves on. A waiting thread spins (with the CPU's `pause`), and after
`SPINS_BEFORE_YIELD` turns gives its core away at each turn (`sched_yield`),
so that threads sharing a core with other processes still move on.

A barrier needs every thread running at once. numba's OpenMP and workqueue
layers give each iteration of a `prange` of `n` iterations its own thread;
`start` checks it: the threads agree, through one compare-and-swap, either
that all of them have arrived or (after `START_SPINS` turns) that they never
will, and then all of them do nothing (the caller runs the serial form).

The sync array (int64, `SYNC_SLOTS` entries, zero at the start) holds the
counter, the generation, the start's count and its outcome.
"""
from __future__ import annotations

import platform

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

COUNT, GENERATION, STARTED, OUTCOME = range(4)
SYNC_SLOTS = 4
GO, ABORT = 1, 2
SPINS_BEFORE_YIELD = 2000
START_SPINS = 200_000  # a tenth of a second or so: after SPINS_BEFORE_YIELD, each turn yields


def _int64_array(array) -> bool:
    """Whether a type is an int64 array (the sync array's: every atomic below takes one)."""
    return isinstance(array, types.Array) and array.dtype == types.int64


def _element(context, builder, array_type, array, index):
    """A pointer to array[index]."""
    ary = context.make_array(array_type)(context, builder, array)
    return cgutils.get_item_pointer(context, builder, array_type, ary, [index], wraparound=False)


@intrinsic
def atomic_add(typingctx, array, index, value):
    """array[index] += value in one indivisible step (sequentially consistent); returns the old value."""
    if not _int64_array(array):
        return None

    def codegen(context, builder, signature, args):
        pointer = _element(context, builder, signature.args[0], args[0], args[1])
        return builder.atomic_rmw("add", pointer, args[2], "seq_cst")

    return types.int64(array, types.intp, types.int64), codegen


@intrinsic
def atomic_load(typingctx, array, index):
    """array[index], read with acquire ordering (what other threads wrote before their release is seen)."""
    if not _int64_array(array):
        return None

    def codegen(context, builder, signature, args):
        pointer = _element(context, builder, signature.args[0], args[0], args[1])
        return builder.load_atomic(pointer, "acquire", 8)

    return types.int64(array, types.intp), codegen


@intrinsic
def atomic_store(typingctx, array, index, value):
    """array[index] = value with release ordering."""
    if not _int64_array(array):
        return None

    def codegen(context, builder, signature, args):
        pointer = _element(context, builder, signature.args[0], args[0], args[1])
        builder.store_atomic(args[2], pointer, "release", 8)
        return context.get_dummy_value()

    return types.void(array, types.intp, types.int64), codegen


@intrinsic
def compare_and_swap(typingctx, array, index, expected, value):
    """If array[index] == expected, set it to value, in one indivisible step; returns the value found."""
    if not _int64_array(array):
        return None

    def codegen(context, builder, signature, args):
        pointer = _element(context, builder, signature.args[0], args[0], args[1])
        pair = builder.cmpxchg(pointer, args[2], args[3], "seq_cst", "seq_cst")
        return builder.extract_value(pair, 0)

    return types.int64(array, types.intp, types.int64, types.int64), codegen


@intrinsic
def cpu_pause(typingctx):
    """The CPU's spin-wait hint (x86 `pause`: a waiting thread leaves the core's resources to others;
    nothing on other machines)."""
    def codegen(context, builder, signature, args):
        if platform.machine().lower() not in ("x86_64", "amd64", "i686", "x86"):
            return context.get_dummy_value()
        function = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), []),
                                                  "llvm.x86.sse2.pause")
        builder.call(function, [])
        return context.get_dummy_value()

    return types.void(), codegen


@intrinsic
def sched_yield(typingctx):
    """Give the core to another runnable thread (POSIX sched_yield)."""
    def codegen(context, builder, signature, args):
        function = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), []),
                                                  "sched_yield")
        builder.call(function, [])
        return context.get_dummy_value()

    return types.void(), codegen


@njit(cache=True, inline="always")
def _wait(spins):
    """One turn of a waiting thread: spin, and after SPINS_BEFORE_YIELD turns give the core away."""
    if spins < SPINS_BEFORE_YIELD:
        cpu_pause()
    else:
        sched_yield()


@njit(cache=True)
def barrier(sync, threads):
    """Wait until all `threads` threads have arrived (the sync array's COUNT and GENERATION)."""
    generation = atomic_load(sync, GENERATION)
    if atomic_add(sync, COUNT, 1) == threads - 1:  # the last one: reset the count, let the others go
        atomic_store(sync, COUNT, 0)
        atomic_add(sync, GENERATION, 1)
        return
    spins = 0
    while atomic_load(sync, GENERATION) == generation:
        _wait(spins)
        spins += 1


@njit(cache=True)
def start(sync, threads):
    """True when all `threads` threads are running at once (each calls this first), False (for every one
    of them) when they are not after START_SPINS turns."""
    atomic_add(sync, STARTED, 1)
    spins = 0
    while atomic_load(sync, OUTCOME) == 0:
        if atomic_load(sync, STARTED) == threads:
            compare_and_swap(sync, OUTCOME, 0, GO)
        elif spins > START_SPINS:
            compare_and_swap(sync, OUTCOME, 0, ABORT)
        else:
            _wait(spins)
            spins += 1
    return atomic_load(sync, OUTCOME) == GO
