namespace Aurigraph.Consensus.Simulation.Linearizability;

/// <summary>The kind of a key/value client operation.</summary>
public enum KvOpKind
{
    /// <summary>Writes <see cref="KvOperation.Value"/> to the key.</summary>
    Put,

    /// <summary>Reads the key; <see cref="KvOperation.Value"/> is the value observed.</summary>
    Get,
}

/// <summary>
/// One client operation as recorded by a test harness.
/// <see cref="Call"/> and <see cref="Return"/> are logical timestamps. <c>Return == long.MaxValue</c> means the
/// outcome is unknown (timed out: it may or may not have taken effect, at any time after <see cref="Call"/>).
/// For <see cref="KvOpKind.Put"/>, <see cref="Value"/> is the value written. For <see cref="KvOpKind.Get"/>,
/// <see cref="Value"/> is the value read (<c>null</c> = key absent / never written).
/// </summary>
public readonly record struct KvOperation(int ClientId, KvOpKind Kind, int Key, long? Value, long Call, long Return)
{
    /// <summary>The timestamp used as <see cref="Return"/> for an operation whose outcome is unknown.</summary>
    public const long UnknownReturn = long.MaxValue;

    /// <summary>True when the operation timed out and its outcome is unknown.</summary>
    public bool IsUnknown => Return == UnknownReturn;

    /// <summary>Creates a completed Put.</summary>
    public static KvOperation Put(int clientId, int key, long? value, long call, long ret) =>
        new(clientId, KvOpKind.Put, key, value, call, ret);

    /// <summary>Creates a completed Get that observed <paramref name="value"/>.</summary>
    public static KvOperation Get(int clientId, int key, long? value, long call, long ret) =>
        new(clientId, KvOpKind.Get, key, value, call, ret);

    /// <summary>Creates a Put whose outcome is unknown (timed out).</summary>
    public static KvOperation UnknownPut(int clientId, int key, long? value, long call) =>
        new(clientId, KvOpKind.Put, key, value, call, UnknownReturn);

    /// <summary>Creates a Get whose outcome is unknown (timed out); the checker ignores it.</summary>
    public static KvOperation UnknownGet(int clientId, int key, long call) =>
        new(clientId, KvOpKind.Get, key, null, call, UnknownReturn);
}

/// <summary>
/// Outcome of a linearizability check. <see cref="FailingKey"/> is set when <see cref="IsLinearizable"/> is false;
/// <see cref="Explanation"/> is a short human-readable reason (bounded in size).
/// </summary>
public sealed record LinearizabilityResult(bool IsLinearizable, int? FailingKey, string Explanation);
