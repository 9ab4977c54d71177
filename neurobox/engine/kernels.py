"""Compiled building blocks of the time loop: spike delivery, recording, and the views of its tables.

The ring buffer of a population is float64[D, n_receptors, N]: slot
(step % D) holds the input that arrives in that step. A spike of step s
over a synapse with delay d (steps, 1 <= d < D) lands in slot (s + d) % D.
"""
from __future__ import annotations

from llvmlite import ir
from numba import carray, njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from neurobox.random import next_double


@njit(cache=True, boundscheck=False)
def record_state(state, rows, neurons, buffer, sample):
    """buffer[sample, a, j] = state[rows[a], neurons[j]]."""
    for a in range(rows.shape[0]):
        r = rows[a]
        for j in range(neurons.shape[0]):
            buffer[sample, a, j] = state[r, neurons[j]]


@njit(cache=True, boundscheck=False)
def gap_junction_currents(v_pre, v_post, a, b, g, i_pre, i_post):
    """Add each junction's current g (V_other - V_self) (pA) to both of its neurons."""
    for m in range(a.shape[0]):
        i = a[m]
        j = b[m]
        current = g[m] * (v_post[j] - v_pre[i])
        i_pre[i] += current
        i_post[j] -= current


# -- views of the loop's tables ---------------------------------------------------------------------
# The generated loop receives, per kind of object, a table of array addresses and shapes (see
# neurobox.engine.codegen); these turn one entry back into a numpy array inside compiled code. The
# caller keeps the arrays alive for the duration of the call. A missing array (address 0) is an
# empty view that is never read.

@intrinsic
def _pointer(typingctx, address, dtype):
    """The address (int64) as a typed pointer to `dtype`."""
    if not isinstance(dtype, (types.NumberClass, types.DType)):
        return None
    pointer = types.CPointer(dtype.dtype)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(pointer))

    return pointer(types.int64, dtype), codegen


@njit(cache=True, inline="always")
def view1(addresses, shapes, obj, col, dtype):
    return carray(_pointer(addresses[obj, col], dtype), (shapes[obj, col, 0],))


@njit(cache=True, inline="always")
def view2(addresses, shapes, obj, col, dtype):
    return carray(_pointer(addresses[obj, col], dtype), (shapes[obj, col, 0], shapes[obj, col, 1]))


@njit(cache=True, inline="always")
def view3(addresses, shapes, obj, col, dtype):
    return carray(_pointer(addresses[obj, col], dtype),
                  (shapes[obj, col, 0], shapes[obj, col, 1], shapes[obj, col, 2]))


PREFETCH_AHEAD = 24
"""Synapses between the one whose ring entry is fetched ahead and the one added: the entries of a spike's
synapses lie far apart in a big ring (one cache miss each), and asking for them early lets the memory
fetch many at once (about twice as fast where the rings do not fit in the cache)."""


@intrinsic
def prefetch_for_write(typingctx, array, i, j, k):
    """Ask the cache for array[i, j, k] (3-D, C order), which is about to be written; nothing else happens."""
    if not (isinstance(array, types.Array) and array.ndim == 3):
        return None

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        indices = [context.cast(builder, v, t, types.intp) for v, t in zip(args[1:], signature.args[1:])]
        pointer = cgutils.get_item_pointer(context, builder, signature.args[0], ary, indices, wraparound=False)
        byte = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [byte, i32, i32, i32]),
                                                  "llvm.prefetch.p0")
        # (address, 1: for a write, 3: keep it close, 1: data)
        builder.call(function, [builder.bitcast(pointer, byte), i32(1), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(array, i, j, k), codegen


@njit(cache=True, boundscheck=False, inline="always")
def _first_at_least(targets, a, b, value):
    """The first k in [a, b) with targets[k] >= value (targets sorted within [a, b))."""
    while a < b:
        mid = (a + b) >> 1
        if targets[mid] < value:
            a = mid + 1
        else:
            b = mid
    return a


@njit(cache=True, boundscheck=False)
def spike_range(spikes, n_spikes, indptr, targets, lo, hi):
    """(s0, s1): the spikes whose rows may reach post neurons lo <= i < hi, for a projection whose rows are
    monotone (sorted, and first and last targets never falling from one non-empty row to the next) and spikes
    in increasing pre order. Below s0 every row ends before lo, from s1 on every row starts at hi or above
    (an empty row takes the last target of the row before it, the first of the row after it)."""
    nnz = targets.shape[0]
    a, b = 0, n_spikes
    while a < b:
        mid = (a + b) >> 1
        end = indptr[spikes[mid] + 1]
        if end > 0 and targets[end - 1] >= lo:
            b = mid
        else:
            a = mid + 1
    s0 = a
    b = n_spikes
    while a < b:
        mid = (a + b) >> 1
        start = indptr[spikes[mid]]
        if start >= nnz or targets[start] >= hi:
            b = mid
        else:
            a = mid + 1
    return s0, a


@njit(cache=True, boundscheck=False, inline="always")
def _row_in_block(indptr, targets, pre, lo, hi, whole):
    """The synapses [a, b) of row `pre` onto post neurons lo <= i < hi (the whole row when `whole`)."""
    a, b = indptr[pre], indptr[pre + 1]
    if not whole:
        a = _first_at_least(targets, a, b, lo)
        b = _first_at_least(targets, a, b, hi)
    return a, b


@njit(cache=True, boundscheck=False)
def deliver(spikes, n_spikes, indptr, targets, weights, delays, delay, ring, receptor, step, lo, hi, whole,
            p_transmit, rng, identity=False):
    """Add the outgoing weights of this step's spikes into the ring of the post population.

    A synapse's weight lands in slot (step + d) % depth, d its delay (delays[k], or `delay` when
    `delays` is empty). Unless `whole`, only synapses onto post neurons lo <= i < hi are delivered
    (targets are sorted within each row, so they are one contiguous range of the row). With a
    non-empty `p_transmit` each synapse transmits only with probability p_transmit[0] (then the call
    is always `whole`, so its random stream is drawn in one order). `identity`: row i is one synapse,
    onto neuron i (the caller then passes only the spikes of neurons lo..hi-1), so a uniform delay's
    delivery reads neither indptr nor targets (about 5x faster per spike: a Poisson background)."""
    depth = ring.shape[0]
    base = step % depth
    if p_transmit.shape[0] > 0:
        p = p_transmit[0]
        for s in range(n_spikes):
            pre = spikes[s]
            for k in range(indptr[pre], indptr[pre + 1]):
                if next_double(rng) >= p:
                    continue
                slot = base + (delays[k] if delays.shape[0] > 0 else delay)
                if slot >= depth:
                    slot -= depth
                ring[slot, receptor, targets[k]] += weights[k]
        return
    if delays.shape[0] == 0:
        slot = base + delay
        if slot >= depth:
            slot -= depth
        row = ring[slot, receptor]
        if identity:
            for s in range(n_spikes):
                row[spikes[s]] += weights[spikes[s]]
            return
        for s in range(n_spikes):
            pre = spikes[s]
            a, b = _row_in_block(indptr, targets, pre, lo, hi, whole)
            for k in range(a, b):
                row[targets[k]] += weights[k]
        return
    for s in range(n_spikes):
        pre = spikes[s]
        a, b = _row_in_block(indptr, targets, pre, lo, hi, whole)
        for k in range(a, b):
            if k + PREFETCH_AHEAD < b:
                ahead = base + delays[k + PREFETCH_AHEAD]
                prefetch_for_write(ring, ahead - depth if ahead >= depth else ahead, receptor,
                                   targets[k + PREFETCH_AHEAD])
            slot = base + delays[k]
            if slot >= depth:
                slot -= depth
            ring[slot, receptor, targets[k]] += weights[k]


@njit(cache=True, boundscheck=False)
def record_spikes(spikes, n_spikes, step, out_steps, out_ids, count, limit):
    """Append this step's spikes of neurons < limit to the recording buffers; returns the new count."""
    for s in range(n_spikes):
        if spikes[s] < limit:
            out_steps[count] = step
            out_ids[count] = spikes[s]
            count += 1
    return count
