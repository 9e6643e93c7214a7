using System.Runtime.InteropServices;

namespace Aurigraph.Node.Hosting;

/// <summary>
/// Turns Ctrl-C (SIGINT), `kill` (SIGTERM) and a closed terminal (SIGHUP) into a cancellation, so a command that
/// owns child processes stops them before it exits instead of leaving them orphaned.
/// </summary>
internal sealed class ShutdownSignals : IDisposable
{
    private readonly PosixSignalRegistration[] _registrations;

    private ShutdownSignals(CancellationTokenSource stop, Action? onSignal)
    {
        void Handle(PosixSignalContext context)
        {
            context.Cancel = true;
            onSignal?.Invoke();
            stop.Cancel();
        }
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle),
            PosixSignalRegistration.Create(PosixSignal.SIGHUP, Handle),
        ];
    }

    /// <summary>Cancels <paramref name="stop"/> on the first signal until disposed.</summary>
    public static ShutdownSignals Cancel(CancellationTokenSource stop, Action? onSignal = null)
    {
        ArgumentNullException.ThrowIfNull(stop);
        return new ShutdownSignals(stop, onSignal);
    }

    public void Dispose()
    {
        foreach (var r in _registrations)
        {
            r.Dispose();
        }
    }
}
