using Microsoft.Extensions.Logging;

namespace Aurigraph.Node.Carbon;

internal static partial class CarbonLog
{
    [LoggerMessage(EventId = 4201, Level = LogLevel.Warning, Message = "carbon: block {Height}: {Reason}")]
    public static partial void Ignored(ILogger logger, ulong height, string reason);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Warning, Message = "carbon: malformed readings from {Peer}: {Reason}")]
    public static partial void MalformedReadings(ILogger logger, ulong peer, string reason);

    [LoggerMessage(EventId = 4203, Level = LogLevel.Warning, Message = "carbon: peer {Peer} sent a reading of node {Node} for height {Height}; a node reports only its own")]
    public static partial void ForeignReading(ILogger logger, ulong peer, ulong node, ulong height);

    [LoggerMessage(EventId = 4204, Level = LogLevel.Warning, Message = "carbon: no reading for height {Height}: {Reason}")]
    public static partial void ReadingFailed(ILogger logger, ulong height, string reason);

    [LoggerMessage(EventId = 4206, Level = LogLevel.Warning, Message = "carbon: the reading of node {Node} for height {Height} is refused and recorded missing: {Reason}")]
    public static partial void Refused(ILogger logger, ulong node, ulong height, string reason);

    [LoggerMessage(EventId = 4205, Level = LogLevel.Information, Message = "carbon: {Count} readings not yet in a committed record sent to leader {Leader}")]
    public static partial void Resent(ILogger logger, int count, ulong leader);

    [LoggerMessage(EventId = 4207, Level = LogLevel.Information, Message = "carbon: the meter's open interval is kept for the next run: {CpuMicros} µs CPU over {WallMicros} µs, {SentBytes} bytes sent, {ReceivedBytes} received, {StoredBytes} stored")]
    public static partial void TailKept(ILogger logger, long cpuMicros, long wallMicros, long sentBytes, long receivedBytes, long storedBytes);

    [LoggerMessage(EventId = 4208, Level = LogLevel.Warning, Message = "carbon: the meter's open interval could not be kept at stop (it is lost): {Reason}")]
    public static partial void TailLost(ILogger logger, string reason);
}
