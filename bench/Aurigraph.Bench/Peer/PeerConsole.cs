using Spectre.Console;

namespace Aurigraph.Bench.Peer;

/// <summary>Progress lines: grey on a terminal, plain and unwrapped when the output goes to a file or pipe.</summary>
internal static class PeerConsole
{
    public static void Info(string line)
    {
        if (Console.IsOutputRedirected)
        {
            Console.WriteLine(line);
        }
        else
        {
            AnsiConsole.MarkupLine($"[grey]{Markup.Escape(line)}[/]");
        }
    }
}
