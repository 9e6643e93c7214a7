namespace Aurigraph.Node.Hosting;

/// <summary>The executable's entry: parses the command line and runs the chosen command.</summary>
internal static class NodeProgram
{
    public static Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        Console.Error.WriteLine("aurigraph-node: the node host is not assembled yet");
        return Task.FromResult(2);
    }
}
