using System.Globalization;
using RocksDbSharp;

namespace Aurigraph.Node.Storage;

/// <summary>
/// RocksDB's own write counters for the node database (statistics at the cheapest level that keeps tickers): bytes that
/// went into the write-ahead log, WAL syncs, bytes flushed from memtables and written by compaction. Read on a metrics
/// scrape, so the text is parsed only when someone asks.
/// </summary>
public sealed class StorageStatistics
{
    private readonly DbOptions _options;

    internal StorageStatistics(DbOptions options) => _options = options;

    /// <summary>The tickers this class reads, by RocksDB name.</summary>
    public static readonly string[] Tickers =
    [
        "rocksdb.wal.bytes", "rocksdb.wal.synced", "rocksdb.bytes.written", "rocksdb.flush.write.bytes", "rocksdb.compact.write.bytes",
    ];

    /// <summary>Current value of each ticker in <see cref="Tickers"/> (0 when RocksDB does not report it).</summary>
    public Dictionary<string, long> Read()
    {
        var values = Tickers.ToDictionary(t => t, _ => 0L);
        var text = _options.GetStatisticsString() ?? "";
        foreach (var line in text.Split('\n'))
        {
            // "rocksdb.wal.bytes COUNT : 12345"
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0 || !values.ContainsKey(line[..space]))
            {
                continue;
            }
            var colon = line.LastIndexOf(':');
            if (colon > 0 && long.TryParse(line.AsSpan(colon + 1).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
            {
                values[line[..space]] = value;
            }
        }
        return values;
    }
}
