using System.Runtime.InteropServices;

namespace Aurigraph.Node.Hosting;

/// <summary>
/// Named crash points compiled into the node and inert unless a test switches one on through the environment:
/// AURIGRAPH_FAULT_POINT=&lt;name&gt; and, optionally, AURIGRAPH_FAULT_AFTER=&lt;n&gt; (crash on the n-th hit,
/// default 1). A hit kills the process with SIGKILL — no shutdown, no flush — exactly like a power cut of the
/// process.
/// </summary>
internal static class FaultPoints
{
    public const string BeforeLogWrite = "before-log-write";
    public const string AfterLogWrite = "after-log-write";
    public const string BeforeCommit = "before-commit";
    public const string BeforeApply = "before-apply";

    private static readonly string? Armed = Environment.GetEnvironmentVariable("AURIGRAPH_FAULT_POINT");
    private static int _remaining = int.TryParse(Environment.GetEnvironmentVariable("AURIGRAPH_FAULT_AFTER"), out var n) && n > 0 ? n : 1;

    public static bool Enabled => Armed is not null;

    public static void Hit(string name)
    {
        if (Armed is null || !string.Equals(Armed, name, StringComparison.Ordinal))
        {
            return;
        }
        if (Interlocked.Decrement(ref _remaining) == 0)
        {
            Console.Error.WriteLine($"fault point {name} hit: killing the process");
            Console.Error.Flush();
            _ = Kill(Environment.ProcessId, 9);
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
