using Aurigraph.Node.Security;

namespace Aurigraph.Node.Hosting;

/// <summary>The `certs` command: a development cluster CA and node certificates as PEM files.</summary>
internal static class CertificateCommand
{
    public static int Run(string directory, string chainId, ulong[] nodeIds, string[] hosts, int days, bool force)
    {
        if (nodeIds.Length == 0 || nodeIds.Contains(0UL))
        {
            Console.Error.WriteLine("certs: --nodes must list non-zero node ids");
            return ExitCodes.BadConfiguration;
        }
        if (days <= 0)
        {
            Console.Error.WriteLine("certs: --days must be positive");
            return ExitCodes.BadConfiguration;
        }
        var written = DevelopmentCertificates.Ensure(directory, chainId, nodeIds, hosts, TimeSpan.FromDays(days), force);
        var full = Path.GetFullPath(directory);
        Console.WriteLine(written.Count == 0 ? $"certs: every requested certificate already exists in {full}" : $"certs: wrote {string.Join(", ", written.Select(Path.GetFileName))} in {full}");
        Console.WriteLine($"node <id>: {NodeOptions.Section}:Tls:CaFile={Path.Combine(full, DevelopmentCertificates.CaCertificateFile)} " +
            $"{NodeOptions.Section}:Tls:CertificateFile={Path.Combine(full, "node-<id>.pem")} {NodeOptions.Section}:Tls:KeyFile={Path.Combine(full, "node-<id>.key")}");
        Console.WriteLine($"keep {DevelopmentCertificates.CaKeyFile} away from the nodes: it issues certificates");
        return 0;
    }
}
