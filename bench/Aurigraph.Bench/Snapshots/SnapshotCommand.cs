using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Aurigraph.Bench.Load;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Snapshots;
using Aurigraph.Node.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using RocksDbSharp;

namespace Aurigraph.Bench.Snapshots;

/// <summary>
/// `snapshot`: size and timings of a state snapshot of N accounts — write (from a RocksDB snapshot of a node database),
/// chunked streaming between two transfer endpoints (1 MiB chunks, window 4, in memory, so disk and hashing only),
/// install into another node database, and loading the ledger from it with its state root checked.
/// </summary>
public static class SnapshotCommand
{
    private const string Chain = "aurigraph-bench";

    public static Command Create()
    {
        var accounts = new Option<int>("--accounts") { Description = "Accounts in the ledger.", DefaultValueFactory = _ => 1_000_000 };
        var command = new Command("snapshot", "Snapshot size, write, stream, install and load times for a ledger of N accounts.") { accounts };
        command.SetAction((parse, ct) =>
        {
            Run(parse.GetValue(accounts));
            return Task.FromResult(0);
        });
        return command;
    }

    private static void Run(int accounts)
    {
        var dir = Path.Combine(Path.GetTempPath(), "aurigraph-bench-snapshot-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var clock = Stopwatch.StartNew();
            var genesis = new Genesis
            {
                ChainId = Chain,
                Accounts = [.. Enumerable.Range(1, accounts).Select(i => new GenesisAccount
                {
                    PublicKey = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i))),
                    Balance = 1_000_000 + (ulong)i,
                })],
            };
            var ledger = LedgerState.FromGenesis(genesis);
            genesis = null;
            using var source = NodeDatabase.Open(Path.Combine(dir, "source"), Chain, 1);
            using (var batch = new WriteBatch())
            {
                new LedgerStore(source).AddGenesis(batch, ledger);
                source.Db.Write(batch, source.SyncWrite);
            }
            var setup = clock.Elapsed.TotalSeconds;

            clock.Restart();
            var view = source.Db.CreateSnapshot();
            var path = Path.Combine(dir, "snap.snap");
            var header = new StateSnapshotHeader(Chain, 1, 1, ledger.Height, ledger.LastBlockHash, ledger.StateRoot, [1, 2, 3], [4]);
            var info = StateSnapshotFile.Write(source, view, header, path);
            view.Dispose();
            var write = clock.Elapsed.TotalSeconds;

            clock.Restart();
            string? received = null;
            var wire = new Queue<(SnapshotTransfer To, ulong From, byte[] Message)>();
            SnapshotTransfer? sender = null, receiver = null;
            sender = new SnapshotTransfer(Path.Combine(dir, "s"), new SnapshotTransferOptions(), (_, m) => wire.Enqueue((receiver!, 1, m)), (_, _, _, _) => { }, (_, _) => { }, NullLogger.Instance);
            receiver = new SnapshotTransfer(Path.Combine(dir, "r"), new SnapshotTransferOptions(), (_, m) => wire.Enqueue((sender, 2, m)), (_, _, p, _) => received = p, (_, _) => { }, NullLogger.Instance);
            sender.Start(2, info, path, 1, 0);
            while (wire.TryDequeue(out var m))
            {
                m.To.OnMessage(m.From, m.Message, 0);
            }
            var stream = clock.Elapsed.TotalSeconds;
            if (received is null)
            {
                throw new InvalidOperationException("the snapshot did not arrive");
            }

            clock.Restart();
            using var target = NodeDatabase.Open(Path.Combine(dir, "target"), Chain, 4);
            var store = new LedgerStore(target);
            StateSnapshotInstaller.Install(target, received, (batch, i) => store.SetTip(batch, i.Header.Height, i.Header.BlockHash));
            var install = clock.Elapsed.TotalSeconds;

            clock.Restart();
            var loaded = store.Load()!.Value;
            var restored = new LedgerState(Chain);
            restored.Load(loaded.Records, loaded.Height, loaded.Hash);
            var load = clock.Elapsed.TotalSeconds;
            if (!restored.StateRoot.AsSpan().SequenceEqual(ledger.StateRoot) || restored.AccountCount != accounts)
            {
                throw new InvalidOperationException("the restored ledger differs from the source");
            }

            var inv = CultureInfo.InvariantCulture;
            var machine = MachineInfo.Read();
            var md = new StringBuilder();
            md.AppendLine("# State snapshot");
            md.AppendLine();
            md.AppendLine(inv, $"- machine: {machine.Cores} cores, {machine.MemoryGb} GiB, {machine.CpuModel}; {machine.Os}; .NET {machine.Runtime}");
            md.AppendLine(inv, $"- commit: `{RunReport.GitCommit()}`");
            md.AppendLine(inv, $"- ledger: {accounts:N0} accounts ({info.Records:N0} records), built and stored in {setup:F1} s");
            md.AppendLine();
            md.AppendLine("| snapshot bytes | write s | stream s (1 MiB chunks, in memory) | install s | load + root check s | total to a serving ledger s |");
            md.AppendLine("|---:|---:|---:|---:|---:|---:|");
            md.AppendLine(inv, $"| {info.Bytes:N0} ({info.Bytes / 1048576.0:F1} MiB) | {write:F2} | {stream:F2} | {install:F2} | {load:F2} | {stream + install + load:F2} |");
            md.AppendLine();
            md.AppendLine("Write: from a RocksDB snapshot of the node database to a checksummed file. Stream: SnapshotTransfer between two endpoints in one process (staging writes and the final SHA-256 check; no network). Install: verify the file, clear the state, write the records in 8 MiB batches, final synced batch. Load: read the ledger family into memory and recompute the state root.");
            var markdown = md.ToString();
            var (json, report) = RunReport.Write("snapshot", new { machine, accounts, info.Bytes, info.Records, setup, write, stream, install, load }, markdown);
            Console.WriteLine(markdown);
            Console.WriteLine($"report: {report} and {json}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
