using Aurigraph.Node.Fuzz;

namespace Aurigraph.Node.Tests.Fuzz;

/// <summary>
/// Replays the committed fuzz corpus (seeds and the inputs AFL kept, <c>tests/Aurigraph.Node.Fuzz/corpus/</c>) through
/// the fuzz targets themselves, linked from the harness: every input must decode or be refused with the decoder's
/// documented exception, so a decoder change that crashes on an input the fuzzer once reached fails here, without AFL.
/// </summary>
public class FuzzCorpusTests
{
    // Read in place (not copied to the output, where files since removed from the corpus would linger).
    private static readonly string CorpusFolder = Path.Combine(RepositoryRoot(), "tests", "Aurigraph.Node.Fuzz", "corpus");

    public static TheoryData<string> Targets() => [.. FuzzTargets.All.Keys];

    [Theory]
    [MemberData(nameof(Targets))]
    public void Every_corpus_input_decodes_or_is_refused(string target)
    {
        var files = Directory.GetFiles(Path.Combine(CorpusFolder, target)).Order(StringComparer.Ordinal).ToList();
        Assert.Contains(files, f => Path.GetFileName(f).StartsWith("seed-", StringComparison.Ordinal));
        var run = FuzzTargets.All[target];
        var findings = new List<string>();
        foreach (var file in files)
        {
            try
            {
                run(File.ReadAllBytes(file));
            }
            catch (Exception ex)
            {
                findings.Add($"{Path.GetFileName(file)}: {ex.GetType().Name}: {ex.Message}");
            }
        }
        Assert.Empty(findings);
    }

    [Fact]
    public void Committed_seeds_are_what_the_encoders_write_today()
    {
        // Stale seeds would start the fuzzer from inputs the node no longer sends: regenerate them with
        // `dotnet run --project tests/Aurigraph.Node.Fuzz -c Release -- seeds tests/Aurigraph.Node.Fuzz/corpus`.
        var fresh = Path.Combine(Path.GetTempPath(), "aurigraph-seeds-" + Guid.NewGuid().ToString("N"));
        try
        {
            var written = Seeds.Write(fresh);
            var committed = FuzzTargets.All.Keys
                .SelectMany(t => Directory.GetFiles(Path.Combine(CorpusFolder, t), "seed-*").Select(f => Path.Combine(t, Path.GetFileName(f))))
                .Order(StringComparer.Ordinal)
                .ToList();
            Assert.Equal(written, committed.Count);
            foreach (var seed in committed)
            {
                Assert.True(File.ReadAllBytes(Path.Combine(fresh, seed)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(CorpusFolder, seed))), $"seed {seed} differs from what the encoders write");
            }
        }
        finally
        {
            Directory.Delete(fresh, recursive: true);
        }
    }

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Aurigraph.Node.sln")))
            {
                return folder.FullName;
            }
        }
        throw new InvalidOperationException($"no Aurigraph.Node.sln above {AppContext.BaseDirectory}");
    }
}
