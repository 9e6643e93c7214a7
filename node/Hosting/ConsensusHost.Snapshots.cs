using System.Diagnostics;
using Aurigraph.Consensus;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Snapshots;
using Aurigraph.Node.Storage;
using RocksDbSharp;

namespace Aurigraph.Node.Hosting;

/// <summary>
/// Snapshots and log compaction, decided on the consensus loop. Every <see cref="NodeOptions.SnapshotEntries"/> applied
/// entries the applier takes a RocksDB snapshot between two apply batches (the state at exactly its applied index) and
/// the snapshot file is written from it on a worker thread; when the file is complete, the log is compacted up to the snapshot minus
/// <see cref="NodeOptions.CompactionTrailingEntries"/>. When the core asks the leader to send a snapshot to a peer
/// whose entries are gone, the latest file is streamed on <see cref="SnapshotChannel"/> (chunked, resumable); the
/// receiver steps the core's snapshot message once it holds the whole verified file, and installs it when the core's
/// Ready says so.
/// </summary>
internal sealed partial class ConsensusHost
{
    /// <summary>Application channel of snapshot streaming (<see cref="SnapshotTransfer"/>).</summary>
    public const byte SnapshotChannel = 6;


    private readonly Dictionary<(ulong Index, ulong Term), string> _stagedSnapshots = [];
    private SnapshotTransfer _snapshots = null!;
    private (StateSnapshotInfo Info, string Path)? _latestSnapshot;
    private bool _snapshotting;

    private string SnapshotFolder => Path.Combine(_options.DataDir, "snapshots");

    private long NowMs => (long)_time.GetElapsedTime(_tickOrigin).TotalMilliseconds;

    /// <summary>The latest snapshot this node holds (written or installed), if any.</summary>
    public StateSnapshotInfo? LatestSnapshot => _latestSnapshot?.Info;

    private void InitSnapshots()
    {
        _snapshots = new SnapshotTransfer(
            SnapshotFolder,
            new SnapshotTransferOptions { ChunkBytes = _limits.SnapshotChunkBytes },
            (to, message) => _transport.SendApplication(to, SnapshotChannel, message),
            OnSnapshotReceived,
            (peer, ok) => Post(() => _raft.ReportSnapshot(peer, ok)),
            _logger);
        foreach (var file in Directory.GetFiles(SnapshotFolder, "snap-*.snap").OrderByDescending(File.GetLastWriteTimeUtc))
        {
            try
            {
                _latestSnapshot = (StateSnapshotFile.Verify(file), file);
                break;
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException)
            {
                HostLog.SnapshotFailed(_logger, _options.NodeId, 0, $"{file}: {ex.Message}");
            }
        }
    }

    /// <summary>After a Ready: starts a snapshot when enough entries were applied since the last one.</summary>
    private void MaybeSnapshot()
    {
        if (_options.SnapshotEntries == 0 || _snapshotting)
        {
            return;
        }
        var applied = _applier.State.Index;
        var last = Math.Max(_latestSnapshot?.Info.Header.Index ?? 0, _log.Snapshot.Index);
        if (applied >= last + (ulong)_options.SnapshotEntries)
        {
            StartSnapshot();
        }
    }

    /// <summary>
    /// Has the applier capture its state between two batches (a RocksDB snapshot and the header fields at exactly its
    /// applied index); the file is then written off the loop (<see cref="WriteSnapshot"/>).
    /// </summary>
    private void StartSnapshot()
    {
        _snapshotting = true;
        _applier.Run(() =>
        {
            var state = _applier.State; // on the applier, between batches: the database holds exactly this
            var view = _database.Db.CreateSnapshot();
            Post(() => WriteSnapshot(state, view));
        }, _ => Post(() => _snapshotting = false));
    }

    private void WriteSnapshot(AppliedState state, RocksDbSharp.Snapshot view)
    {
        var index = state.Index;
        SnapshotMeta meta;
        try
        {
            meta = _raft.SnapshotMetaAt(index);
        }
        catch (ArgumentOutOfRangeException)
        {
            // An installed snapshot moved the log past the captured state meanwhile: nothing to write.
            view.Dispose();
            _snapshotting = false;
            return;
        }
        var header = new StateSnapshotHeader(
            _options.ChainId, index, meta.Term, state.Height, [.. state.LastBlockHash], state.StateRoot, [.. meta.Config.Voters], [.. meta.Config.Learners], _book.Encoded(), _book.RemovedIds);
        var path = Path.Combine(SnapshotFolder, $"snap-{index}-{meta.Term}.snap");
        _ = Task.Run(() =>
        {
            var started = _time.GetTimestamp();
            try
            {
                var info = StateSnapshotFile.Write(_database, view, header, path);
                var ms = _time.GetElapsedTime(started).TotalMilliseconds;
                // State is written without the WAL: put it on disk here, off the loop, so the compaction that follows
                // (never past the applied index on disk) does not flush on the loop.
                _log.FlushState();
                Post(() => OnSnapshotWritten(info, path, ms));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or RocksDbException)
            {
                HostLog.SnapshotFailed(_logger, _options.NodeId, index, ex.Message);
                Post(() => _snapshotting = false);
            }
            finally
            {
                view.Dispose();
            }
        });
    }

    private void OnSnapshotWritten(StateSnapshotInfo info, string path, double milliseconds)
    {
        _snapshotting = false;
        KeepLatest(info, path);
        var index = info.Header.Index;
        var compactTo = index > (ulong)_options.CompactionTrailingEntries ? index - (ulong)_options.CompactionTrailingEntries : 0;
        if (compactTo > _log.Snapshot.Index && compactTo <= _raft.AppliedIndex)
        {
            _log.Compact(_raft.SnapshotMetaAt(compactTo));
        }
        HostLog.SnapshotWritten(_logger, _options.NodeId, index, info.Header.Height, info.Bytes, info.Records, milliseconds, _log.Snapshot.Index);
    }

    /// <summary>The core asks this leader to bring <paramref name="m"/>.To up to date with a snapshot.</summary>
    private void SendSnapshot(Message m)
    {
        if (_snapshots.IsSending(m.To))
        {
            return;
        }
        if (_latestSnapshot is { } latest && latest.Info.Header.Index >= (m.Snapshot?.Index ?? 0))
        {
            _snapshots.Start(m.To, latest.Info, latest.Path, _raft.Term, NowMs);
            return;
        }
        // No file covers the compacted entries (e.g. it was removed): make one; the core asks again after this failure.
        if (!_snapshotting)
        {
            StartSnapshot();
        }
        Post(() => _raft.ReportSnapshot(m.To, false));
    }

    /// <summary>A whole, verified snapshot file arrived (transport thread): the core decides whether to install it.</summary>
    private void OnSnapshotReceived(ulong from, StateSnapshotInfo info, string path, ulong raftTerm) => Post(() =>
    {
        var h = info.Header;
        if (h.ChainId != _options.ChainId)
        {
            HostLog.SnapshotFailed(_logger, _options.NodeId, h.Index, $"node {from} sent a snapshot of chain '{h.ChainId}'");
            return;
        }
        _stagedSnapshots[(h.Index, h.Term)] = path;
        _raft.Step(new Message
        {
            Type = MessageType.Snapshot,
            From = from,
            To = _options.NodeId,
            Term = raftTerm,
            Snapshot = new SnapshotMeta(h.Index, h.Term, new MembershipConfig(h.Voters, h.Learners)),
        });
    });

    /// <summary>Installs the staged snapshot the Ready names: state, log boundary, applied index; then reloads the ledger.</summary>
    private void InstallSnapshot(SnapshotMeta meta)
    {
        if (!_stagedSnapshots.TryGetValue((meta.Index, meta.Term), out var path))
        {
            throw new InvalidOperationException($"the core asked to install snapshot {meta.Index}@{meta.Term}, which this node does not hold");
        }
        var started = _time.GetTimestamp();
        _applier.Drain(); // the ledger is replaced: nothing may be applying meanwhile
        var info = InstallSnapshotFile(_database, _log, _store, path);
        var loaded = _store.Load() ?? throw new InvalidOperationException("no ledger after a snapshot install");
        _ledger.Load(loaded.Records, loaded.Height, loaded.Hash);
        if (!_ledger.StateRoot.AsSpan().SequenceEqual(info.Header.StateRoot))
        {
            throw new BlockIntegrityException($"the ledger loaded from snapshot {meta.Index} has state root {Convert.ToHexString(_ledger.StateRoot)}, the snapshot says {Convert.ToHexString(info.Header.StateRoot)}");
        }
        _carbon.OnSnapshotInstalled(info.Header.Height);
        LearnAddresses(info.Header);
        _applier.Reset(new AppliedState(meta.Index, _ledger.Height, _ledger.StateRoot, [.. _ledger.LastBlockHash]));
        _stagedSnapshots.Clear();
        var kept = Path.Combine(SnapshotFolder, $"snap-{meta.Index}-{meta.Term}.snap");
        File.Move(path, kept, overwrite: true);
        KeepLatest(info, kept);
        var ms = _time.GetElapsedTime(started).TotalMilliseconds;
        HostLog.SnapshotInstalled(_logger, _options.NodeId, meta.Index, meta.Term, info.Header.Height, info.Bytes, _raft.Leader, ms);
    }

    /// <summary>
    /// Replaces the database's state with a snapshot file and resets the log to its boundary (also used at start to finish
    /// an install a crash interrupted).
    /// </summary>
    internal static StateSnapshotInfo InstallSnapshotFile(NodeDatabase database, RaftLogStorage log, LedgerStore store, string path)
    {
        SnapshotMeta? installed = null;
        var info = StateSnapshotInstaller.Install(database, path, (batch, info) => Finish(log, store, batch, info, out installed));
        log.SnapshotInstalled(installed!);
        return info;
    }

    /// <summary>At start: completes a snapshot install a crash interrupted, if any.</summary>
    internal static StateSnapshotInfo? ResumeSnapshotInstall(NodeDatabase database, RaftLogStorage log, LedgerStore store)
    {
        SnapshotMeta? installed = null;
        var info = StateSnapshotInstaller.ResumeIfInterrupted(database, (batch, info) => Finish(log, store, batch, info, out installed));
        if (installed is { } meta)
        {
            log.SnapshotInstalled(meta);
        }
        return info;
    }

    private static void Finish(RaftLogStorage log, LedgerStore store, WriteBatch batch, StateSnapshotInfo info, out SnapshotMeta? installed)
    {
        var h = info.Header;
        var meta = new SnapshotMeta(h.Index, h.Term, new MembershipConfig(h.Voters, h.Learners));
        store.SetTip(batch, h.Height, h.BlockHash);
        log.AddAppliedIndex(batch, h.Index);
        log.AddSnapshotReset(batch, meta);
        log.AddCommitFloor(batch, h.Index);
        installed = meta;
    }

    /// <summary>Remembers the newest snapshot file and removes older ones that no transfer reads any more.</summary>
    private void KeepLatest(StateSnapshotInfo info, string path)
    {
        var previous = _latestSnapshot;
        _latestSnapshot = (info, path);
        foreach (var file in Directory.GetFiles(SnapshotFolder, "snap-*.snap"))
        {
            if (file != path && file != previous?.Path)
            {
                File.Delete(file); // the one before the latest stays: a transfer may still be reading it
            }
        }
    }
}
