using Aurigraph.Node.Storage;
using RocksDbSharp;

namespace Aurigraph.Node.Carbon;

/// <summary>The node's counters the meter takes deltas of, and the open interval a stopping node keeps for its next run.</summary>
internal sealed partial class CarbonPipeline
{
    private readonly Storage.StorageMemory _memory;
    private long _retained;
    private long? _retainedAtMs;

    private MeterCounters Counters()
    {
        long sent = 0, received = 0;
        foreach (var peer in _transport.Traffic)
        {
            sent += peer.BytesSent;
            received += peer.BytesReceived;
        }
        return new MeterCounters(sent, received, _log.BytesWritten, RetainedBytes());
    }

    // Retained bytes, asked of RocksDB at most once a second (a dozen property reads; apply rounds come much faster).
    private long RetainedBytes()
    {
        var now = NowMs();
        if (_retainedAtMs is null || now - _retainedAtMs.Value >= 1000)
        {
            _retained = _memory.RetainedBytes();
            _retainedAtMs = now;
        }
        return _retained;
    }

    /// <summary>
    /// The node stops (gracefully; after the consensus loop and the applier ended, before the database closes): keeps the
    /// meter's open interval, durably, for the next run's first reading. The meter closes nothing after it. A node that
    /// crashes loses its open interval.
    /// </summary>
    /// <returns>What was kept; null when this node does not meter, stopped already, or the write failed (logged).</returns>
    public MeterInterval? PersistOpenInterval()
    {
        lock (_gate)
        {
            if (_meter is null || _stopped)
            {
                return null;
            }
            _stopped = true;
            var tail = _meter.Stop(Counters());
            // The tail's own bytes are written after it was measured: they are part of it.
            tail = tail with { StoredBytes = tail.StoredBytes + CarbonLedger.MeterTailBytes };
            try
            {
                using var batch = new WriteBatch();
                _ledger.PutMeterTail(batch, tail);
                _database.Db.Write(batch, _database.SyncWrite);
            }
            catch (RocksDbException ex)
            {
                CarbonLog.TailLost(_logger, ex.Message);
                return null;
            }
            CarbonLog.TailKept(_logger, tail.CpuMicros, tail.WallMicros, tail.PeerBytesSent, tail.PeerBytesReceived, tail.StoredBytes);
            return tail;
        }
    }
}
