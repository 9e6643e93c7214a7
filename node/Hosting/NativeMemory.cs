using System.Runtime.InteropServices;

namespace Aurigraph.Node.Hosting;

/// <summary>
/// Native allocator settings for a node process. RocksDB allocates from many threads (flush, compaction, the
/// consensus loop, gRPC workers); glibc gives each thread that contends its own arena, up to 8 per core, and
/// freed memory stays in those arenas. Two arenas are enough for a node and keep the resident set down.
/// </summary>
internal static class NativeMemory
{
    private const int ArenaMaxParameter = -8; // M_ARENA_MAX in glibc's malloc.h

    /// <summary>Caps glibc's malloc arenas (Linux with glibc only; elsewhere nothing changes). Call before RocksDB opens.</summary>
    public static void LimitArenas(int arenas)
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") is not null)
        {
            return; // an operator's explicit setting wins
        }
        try
        {
            _ = MallOpt(ArenaMaxParameter, arenas);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // musl (Alpine) has no mallopt arenas: nothing to limit.
        }
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int MallOpt(int parameter, int value);
}
