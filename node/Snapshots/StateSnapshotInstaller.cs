using Aurigraph.Node.Carbon;
using Aurigraph.Node.Storage;
using RocksDbSharp;

namespace Aurigraph.Node.Snapshots;

/// <summary>
/// Replaces a node database's replicated state with a verified snapshot file. The file is checked end to end before
/// anything is touched; then a marker naming it is written (synced), the old state is deleted and the snapshot's records
/// written in bounded batches, and the caller's final batch (tip, applied index, raft log reset) lands synced together
/// with the marker's removal. A crash in between leaves the marker, and <see cref="ResumeIfInterrupted"/> installs the
/// same file again at the next start.
/// </summary>
public static class StateSnapshotInstaller
{
    private const int BatchBytes = 8 << 20;
    private static readonly byte[] MarkerKey = "snapshot/installing"u8.ToArray();
    private static readonly byte[] FamilyStart = [];
    private static readonly byte[] FamilyEnd = Enumerable.Repeat((byte)0xFF, 64).ToArray();

    /// <summary>Installs <paramref name="path"/>; <paramref name="finish"/> adds the caller's writes to the final, synced batch.</summary>
    /// <returns>The verified snapshot's description.</returns>
    /// <exception cref="InvalidDataException">The file fails verification (nothing was changed).</exception>
    public static StateSnapshotInfo Install(NodeDatabase database, string path, Action<WriteBatch, StateSnapshotInfo> finish)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(finish);
        var info = StateSnapshotFile.Verify(path);
        database.Db.Put(MarkerKey, System.Text.Encoding.UTF8.GetBytes(Path.GetFullPath(path)), database.RaftState, database.SyncWrite);

        using (var clear = new WriteBatch())
        {
            clear.DeleteRange(FamilyStart, (ulong)FamilyStart.Length, FamilyEnd, (ulong)FamilyEnd.Length, database.Ledger);
            // Carbon: everything but this node's own readings ('o' of format 1, 'r') and its meter tail ('s', right after 'r'):
            // [start, 'o'), ['p', 'r'), ['t', end).
            byte[] own1 = [CarbonLedger.OwnPrefixV1], after1 = [CarbonLedger.OwnPrefixV1 + 1], own = [CarbonLedger.OwnPrefix], afterLocal = [CarbonLedger.MeterTailPrefix + 1];
            clear.DeleteRange(FamilyStart, 0, own1, 1, database.Carbon);
            clear.DeleteRange(after1, 1, own, 1, database.Carbon);
            clear.DeleteRange(afterLocal, 1, FamilyEnd, (ulong)FamilyEnd.Length, database.Carbon);
            database.Db.Write(clear, database.NoSyncWrite);
        }

        var batch = new WriteBatch();
        long pending = 0;
        try
        {
            StateSnapshotFile.Read(path, (family, key, value) =>
            {
                if (family == SnapshotFamily.Carbon && CarbonLedger.IsLocalKey(key.Span))
                {
                    return; // a sender's own readings (snapshots before this rule carried them) are not this node's
                }
                var handle = family == SnapshotFamily.Ledger ? database.Ledger : database.Carbon;
                batch.Put(key.Span, value.Span, handle);
                pending += key.Length + value.Length;
                if (pending >= BatchBytes)
                {
                    database.Db.Write(batch, database.NoSyncWrite);
                    batch.Dispose();
                    batch = new WriteBatch();
                    pending = 0;
                }
            });
            finish(batch, info);
            batch.Delete(MarkerKey, database.RaftState);
            database.Db.Write(batch, database.SyncWrite);
        }
        finally
        {
            batch.Dispose();
        }
        return info;
    }

    /// <summary>
    /// At start: when an install was interrupted, installs its file again and returns it; null when none was under way.
    /// </summary>
    /// <exception cref="StorageException">The interrupted install's file is gone or damaged: the node cannot recover alone.</exception>
    public static StateSnapshotInfo? ResumeIfInterrupted(NodeDatabase database, Action<WriteBatch, StateSnapshotInfo> finish)
    {
        ArgumentNullException.ThrowIfNull(database);
        var marker = database.Db.Get(MarkerKey, database.RaftState);
        if (marker is null)
        {
            return null;
        }
        var path = System.Text.Encoding.UTF8.GetString(marker);
        try
        {
            return Install(database, path, finish);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException)
        {
            throw new StorageException($"a snapshot install from '{path}' was interrupted and the file cannot be installed again ({ex.Message}); restore this node's data folder from a peer", ex);
        }
    }
}
