using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Aurigraph.Node.Diagnostics;

/// <summary>
/// The CPU time the calling thread has consumed, in nanoseconds: Linux's per-thread CPU clock
/// (<c>clock_gettime(CLOCK_THREAD_CPUTIME_ID)</c>), which counts only time the thread ran — not time it was preempted
/// or blocked in a syscall that waited. Elsewhere (or if the call is unavailable) the monotonic wall clock stands in, and
/// <see cref="IsThreadCpu"/> says so. A difference of two readings means something only on one thread with no await in
/// between.
/// </summary>
public static class ThreadCpuClock
{
    private const int ClockThreadCpuTimeId = 3; // CLOCK_THREAD_CPUTIME_ID in <time.h>

    /// <summary>Whether readings are per-thread CPU time (true) or wall time (false, the fallback).</summary>
    public static bool IsThreadCpu { get; } = Probe();

    /// <summary>The calling thread's CPU time in nanoseconds (or wall nanoseconds in the fallback).</summary>
    public static long Now()
    {
        if (IsThreadCpu && ClockGetTime(ClockThreadCpuTimeId, out var ts) == 0)
        {
            return (ts.Seconds * 1_000_000_000L) + ts.Nanoseconds;
        }
        return (long)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));
    }

    private static bool Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }
        try
        {
            return ClockGetTime(ClockThreadCpuTimeId, out _) == 0;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int ClockGetTime(int clockId, out TimeSpec time);
}
