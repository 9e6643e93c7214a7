using Aurigraph.Node.Storage;

namespace Aurigraph.Node.Tests.Storage;

public sealed class NodeDatabaseTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aurigraph-db-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void Incarnations_never_repeat_across_restarts_of_one_data_folder()
    {
        var seen = new List<ulong>();
        for (var start = 0; start < 3; start++)
        {
            using var db = NodeDatabase.Open(_dir, "incarnation-test", 1);
            seen.Add(db.NextIncarnation());
            seen.Add(db.NextIncarnation());
        }
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Equal(seen.Order(), seen); // increasing, so ids built on them never meet an earlier run's
        Assert.True(seen[0] > 0);
    }

    [Fact]
    public void A_folder_of_an_older_storage_format_is_refused_with_what_to_do()
    {
        using (var db = NodeDatabase.Open(_dir, "format-test", 1))
        {
            // Rewrite the identity record as format 3 wrote it (the version is the u16 after the magic).
            var key = "node/identity"u8.ToArray();
            var identity = db.Db.Get(key, db.Meta);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(identity.AsSpan(4), 3);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(identity.AsSpan(identity.Length - 4), Aurigraph.Node.Ledger.Checksum.Crc32C(identity.AsSpan(0, identity.Length - 4)));
            db.Db.Put(key, identity, db.Meta, db.SyncWrite);
        }
        var ex = Assert.Throws<StorageException>(() => NodeDatabase.Open(_dir, "format-test", 1));
        Assert.Contains("storage format 3; this node reads format 4", ex.Message, StringComparison.Ordinal);
        Assert.Contains("empty folder", ex.Message, StringComparison.Ordinal);
    }
}
