"""Turning data into spikes and back, and comparing spike trains.

Spikes are parallel arrays ``(t_ms float64, neuron_id int32)`` sorted by
time (see `neurobox.coding.spikes`); every encoder returns that pair as a
`Spikes` named tuple, times in ms.

Encoders: `poisson_encode` (rate), `latency_encode` (time to first spike),
`rank_order_encode` (Thorpe's rank order), `GaussianPopulation` (population
code). Decoders: `latency_decode`, `rank_order_decode`,
`rank_order_activation`, `GaussianPopulation.decode`. Metrics:
`van_rossum_distance`, `victor_purpura_distance`, `firing_rate`, `isi_cv`,
`fano_factor`.
"""
from neurobox.coding.latency import latency_decode, latency_encode
from neurobox.coding.poisson import poisson_encode
from neurobox.coding.population import GaussianPopulation
from neurobox.coding.rank_order import (rank_order_activation, rank_order_decode, rank_order_encode,
                                        spike_ranks)
from neurobox.coding.spikes import Spikes, as_pair, from_trains, make_spikes, spike_counts, to_trains
from neurobox.coding.statistics import fano_factor, firing_rate, isi_cv
from neurobox.coding.van_rossum import van_rossum_distance, van_rossum_matrix, van_rossum_multi
from neurobox.coding.victor_purpura import victor_purpura_distance, victor_purpura_matrix

__all__ = [
    "Spikes", "make_spikes", "as_pair", "to_trains", "from_trains", "spike_counts",
    "poisson_encode", "latency_encode", "latency_decode",
    "rank_order_encode", "rank_order_decode", "rank_order_activation", "spike_ranks",
    "GaussianPopulation",
    "van_rossum_distance", "van_rossum_matrix", "van_rossum_multi",
    "victor_purpura_distance", "victor_purpura_matrix",
    "firing_rate", "isi_cv", "fano_factor",
]
