namespace Aurigraph.Node.Hosting;

/// <summary>Process exit codes of a node, documented in README (Configuration).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>A setting is missing or invalid; the message names it.</summary>
    public const int BadConfiguration = 2;

    /// <summary>The node could not start (data folder refused, port taken, ...).</summary>
    public const int StartFailed = 3;

    /// <summary>The consensus loop stopped on an error it cannot get past (e.g. a committed block failed its integrity checks).</summary>
    public const int LoopFailed = 4;
}
