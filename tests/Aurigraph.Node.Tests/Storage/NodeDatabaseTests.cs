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
}
