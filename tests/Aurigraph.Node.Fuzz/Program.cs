using Aurigraph.Node.Fuzz;
using System.Runtime.InteropServices;
using SharpFuzz;

// Usage:
//   Aurigraph.Node.Fuzz <target>                    under afl-fuzz: the fork server, one input per run on stdin
//   Aurigraph.Node.Fuzz seeds <folder>              writes the seed inputs of every target to <folder>/<target>/
//   Aurigraph.Node.Fuzz replay <target> <path>...   runs files (or every file of folders) once, printing each finding
// Targets: frames, block, transaction, json (see FuzzTargets).

// Instrumented code records coverage through SharpFuzz's trace pointer, which the fork server points at AFL's shared
// map; until then (and in the seeds and replay modes, which never get one) it points at a private map, so the
// instrumented assemblies run outside afl-fuzz too.
unsafe
{
    SharpFuzz.Common.Trace.SharedMem = (byte*)NativeMemory.AllocZeroed(1 << 16);
}

if (args.Length == 2 && args[0] == "seeds")
{
    Console.WriteLine($"wrote {Seeds.Write(args[1])} seed inputs under {args[1]}");
    return 0;
}
if (args.Length >= 3 && args[0] == "replay" && FuzzTargets.All.TryGetValue(args[1], out var replayed))
{
    var findings = 0;
    var files = args[2..].SelectMany(p => Directory.Exists(p) ? Directory.GetFiles(p) : [p]).Order(StringComparer.Ordinal).ToList();
    foreach (var file in files)
    {
        try
        {
            replayed(File.ReadAllBytes(file));
        }
        catch (Exception ex)
        {
            findings++;
            Console.WriteLine($"{file}: {ex}");
        }
    }
    Console.WriteLine($"{files.Count} inputs, {findings} findings");
    return findings == 0 ? 0 : 1;
}
if (args.Length == 1 && FuzzTargets.All.TryGetValue(args[0], out var target))
{
    // Out of process: a hang or a process-killing fault is recorded and the fork server starts a new child.
    Fuzzer.OutOfProcess.Run(stream =>
    {
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        target(memory.GetBuffer().AsMemory(0, (int)memory.Length));
    });
    return 0;
}
Console.Error.WriteLine($"usage: Aurigraph.Node.Fuzz <{string.Join('|', FuzzTargets.All.Keys)}> | seeds <folder> | replay <target> <path>...");
return 2;
