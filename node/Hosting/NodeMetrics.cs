using System.Diagnostics.Metrics;

namespace Aurigraph.Node.Hosting;

/// <summary>The node's OpenTelemetry instruments (meter "Aurigraph.Node"), exported on the Prometheus scrape endpoint.</summary>
internal sealed class NodeMetrics : IDisposable
{
    public const string MeterName = "Aurigraph.Node";

    private readonly Meter _meter = new(MeterName);

    public NodeMetrics(Func<NodeSnapshot> snapshot, Transactions.IngressGate? ingress = null, Storage.StorageStatistics? storage = null, Func<long>? syncedWrites = null, Storage.StorageMemory? memory = null, Func<IReadOnlyDictionary<ulong, double>>? roundTrips = null)
    {
        if (roundTrips is not null)
        {
            _meter.CreateObservableGauge("aurigraph.consensus.peer_round_trip", () => roundTrips().Select(p => new Measurement<double>(p.Value, new KeyValuePair<string, object?>("peer", p.Key.ToString(System.Globalization.CultureInfo.InvariantCulture)))), unit: "ms", description: "The leader's measured round trip to each peer (heartbeat to response; the second-largest of the last 32), checked against the election and heartbeat timeouts");
        }
        if (ingress is not null)
        {
            _meter.CreateObservableGauge("aurigraph.ingress.transactions", () => ingress.Transactions, unit: "{transaction}", description: "Transactions handed in by clients and not yet placed in the mempool or answered (bounded by IngressTransactions)");
            _meter.CreateObservableGauge("aurigraph.ingress.bytes", () => ingress.Bytes, unit: "By", description: "Their bytes (bounded by IngressBytes)");
        }
        if (storage is not null)
        {
            foreach (var ticker in Storage.StorageStatistics.Tickers)
            {
                // rocksdb.wal.bytes → aurigraph.storage.wal_bytes (Prometheus: aurigraph_storage_wal_bytes_total)
                var name = "aurigraph.storage." + ticker["rocksdb.".Length..].Replace('.', '_');
                _meter.CreateObservableCounter(name, () => storage.Read()[ticker], description: $"RocksDB ticker {ticker}");
            }
        }
        if (memory is not null)
        {
            // RocksDB's native memory, for the breakdown of the resident set (the GC heap is on dotnet_gc_*).
            _meter.CreateObservableGauge("aurigraph.storage.memtable_bytes", memory.MemtableBytes, unit: "By", description: "Bytes in every column family's memtables (bounded by the memory budget's memtable share)");
            _meter.CreateObservableGauge("aurigraph.storage.block_cache_bytes", memory.BlockCacheBytes, unit: "By", description: "Bytes in RocksDB's block cache");
            _meter.CreateObservableGauge("aurigraph.storage.table_readers_bytes", memory.TableReaderBytes, unit: "By", description: "Bytes of table readers' index and filter blocks outside the block cache");
        }
        if (syncedWrites is not null)
        {
            _meter.CreateObservableCounter("aurigraph.storage.raft_log_synced_writes", syncedWrites, description: "Synced raft log batches written since start");
        }
        _meter.CreateObservableGauge("aurigraph.consensus.term", () => (long)snapshot().Term, description: "Current Raft term");
        _meter.CreateObservableGauge("aurigraph.consensus.leader", () => (long)snapshot().Leader, description: "Id of the known leader (0 = none)");
        _meter.CreateObservableGauge("aurigraph.consensus.commit_index", () => (long)snapshot().CommitIndex);
        _meter.CreateObservableGauge("aurigraph.consensus.applied_index", () => (long)snapshot().AppliedIndex);
        _meter.CreateObservableGauge("aurigraph.ledger.height", () => (long)snapshot().Height, description: "Height of the last applied block");
        _meter.CreateObservableGauge("aurigraph.batching.block_target", () => (long)snapshot().BlockTarget, unit: "{transaction}", description: "Transactions the next block may take (dynamic batching; moves between MinBlockTransactions and MaxBlockTransactions)");
        LeaderChanges = _meter.CreateCounter<long>("aurigraph.consensus.leader_changes", description: "Times this node saw the leader change");
        PlacementTransfers = _meter.CreateCounter<long>("aurigraph.consensus.placement_transfers", description: "Leadership transfers this node started under carbon-aware leader placement (Aurigraph:LeaderPlacement)");
        TransactionsCommitted = _meter.CreateCounter<long>("aurigraph.transactions.committed", description: "Transactions applied in committed blocks");
        LoopRounds = _meter.CreateCounter<long>("aurigraph.consensus.loop_rounds", unit: "{round}", description: "Rounds of the consensus loop (each takes what arrived, then runs the Ready contract once): what an idle node's wake-ups cost is read against it");
        ParanoidFailures = _meter.CreateCounter<long>("aurigraph.paranoid.failures", description: "Committed transactions whose signature failed the paranoid check (integrity alarm)");
        CommitLatency = _meter.CreateHistogram<double>("aurigraph.transactions.commit_latency", unit: "ms", description: "Submit to commit, as seen by the node that received the submission");
    }

    public Counter<long> LeaderChanges { get; }

    /// <summary>Transfers started by carbon-aware leader placement.</summary>
    public Counter<long> PlacementTransfers { get; }

    /// <summary>Rounds of the consensus loop.</summary>
    public Counter<long> LoopRounds { get; }

    /// <summary>Committed transactions that failed the paranoid signature check.</summary>
    public Counter<long> ParanoidFailures { get; }

    public Counter<long> TransactionsCommitted { get; }

    public Histogram<double> CommitLatency { get; }

    public void Dispose() => _meter.Dispose();
}
