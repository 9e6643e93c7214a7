using Microsoft.Extensions.Logging;

namespace Aurigraph.Node.Security;

/// <summary>
/// The node's current <see cref="NodeCredentials"/>, re-read from disk when a file changes, so certificates rotate
/// without a restart. <see cref="Current"/> compares the files' write times (at most once per
/// <c>checkInterval</c>) and reloads when one changed; every new connection asks for it, so new connections use the
/// new certificate while established ones keep theirs. A reload that fails (a file half replaced, a certificate that
/// does not fit) keeps the previous set and logs a warning; the next change is tried again.
/// </summary>
public sealed class ReloadingCredentials
{
    private readonly CertificateFiles _files;
    private readonly string _chainId;
    private readonly ulong? _nodeId;
    private readonly bool _verifyChain;
    private readonly ILogger _logger;
    private readonly long _checkIntervalMs;
    private readonly Lock _gate = new();
    private NodeCredentials _current;
    private (DateTime, DateTime, DateTime) _stamps;
    private long _nextCheck;

    /// <param name="nodeId">The node id the certificate must name; null for a certificate that needs name no node.</param>
    /// <param name="verifyChain">The certificate must chain to the CA file (false for an API certificate of another CA).</param>
    /// <exception cref="InvalidDataException">The files cannot be loaded now (start-up fails with the reason).</exception>
    public ReloadingCredentials(CertificateFiles files, string chainId, ulong? nodeId, ILogger logger, TimeSpan checkInterval, bool verifyChain = true)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(logger);
        _files = files;
        _chainId = chainId;
        _nodeId = nodeId;
        _verifyChain = verifyChain;
        _logger = logger;
        _checkIntervalMs = (long)checkInterval.TotalMilliseconds;
        _stamps = files.Stamps();
        _current = NodeCredentials.Load(files, chainId, nodeId, verifyChain);
        _nextCheck = Environment.TickCount64 + _checkIntervalMs;
    }

    /// <summary>Times the material was replaced since start.</summary>
    public int Reloads { get; private set; }

    /// <summary>The material to use for a new connection; reloaded first if the files changed.</summary>
    public NodeCredentials Current
    {
        get
        {
            var now = Environment.TickCount64;
            if (now < Volatile.Read(ref _nextCheck))
            {
                return Volatile.Read(ref _current);
            }
            lock (_gate)
            {
                _nextCheck = now + _checkIntervalMs;
                (DateTime, DateTime, DateTime) stamps;
                try
                {
                    stamps = _files.Stamps();
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    return _current;
                }
                if (stamps == _stamps)
                {
                    return _current;
                }
                _stamps = stamps;
                try
                {
                    var loaded = NodeCredentials.Load(_files, _chainId, _nodeId, _verifyChain);
                    Volatile.Write(ref _current, loaded);
                    Reloads++;
                    SecurityLog.CredentialsReloaded(_logger, _files.CertificateFile, loaded.Certificate.Subject, loaded.Certificate.Thumbprint, loaded.Certificate.NotAfter);
                }
                catch (InvalidDataException ex)
                {
                    SecurityLog.ReloadFailed(_logger, _files.CertificateFile, ex.Message);
                }
                return _current;
            }
        }
    }
}
