using System.Buffers.Binary;

namespace Aurigraph.Consensus;

/// <summary>The one-server membership changes (Raft thesis §4.1). Adding a voter is AddLearner, catch-up, then PromoteLearner.</summary>
public enum MembershipChangeType : byte
{
    /// <summary>A new non-voting member: it receives the log and catches up.</summary>
    AddLearner = 1,

    /// <summary>A caught-up learner becomes a voter.</summary>
    PromoteLearner = 2,

    /// <summary>A voter or learner leaves the cluster.</summary>
    RemoveNode = 3,
}

/// <summary>One membership change, as proposed with <see cref="RaftNode.ProposeMembershipChange"/>.</summary>
public readonly record struct MembershipChange(MembershipChangeType Type, ulong NodeId)
{
    private const byte FormatVersion = 1;

    // Version 2 appends the change's context: opaque to the core, carried to every node with the entry.
    private const byte ContextFormatVersion = 2;

    /// <summary>The largest context a change may carry (<see cref="RaftNode.ProposeMembershipChange(MembershipChange, ReadOnlySpan{byte})"/>).</summary>
    public const int MaxContextBytes = 4096;

    /// <summary>
    /// The payload of an <see cref="EntryType.ConfChange"/> entry: the change and the whole configuration it
    /// produces, so a node can take its configuration from the entry alone (a joining node replays the log from a
    /// bootstrap configuration that need not be the cluster's first one), and the proposer's context for the change.
    /// Layout: version u8, type u8, node u64, voter count u32, learner count u32, then the ids (u64, little-endian);
    /// version 2 (written only when there is a context) then has the context's length (u32) and its bytes.
    /// </summary>
    public byte[] Encode(MembershipConfig result, ReadOnlySpan<byte> context = default)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (context.Length > MaxContextBytes)
        {
            throw new ArgumentException($"a membership change's context is at most {MaxContextBytes} bytes, got {context.Length}", nameof(context));
        }
        var ids = 18 + (8 * (result.Voters.Count + result.Learners.Count));
        var bytes = new byte[ids + (context.IsEmpty ? 0 : 4 + context.Length)];
        bytes[0] = context.IsEmpty ? FormatVersion : ContextFormatVersion;
        bytes[1] = (byte)Type;
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(2), NodeId);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(10), (uint)result.Voters.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(14), (uint)result.Learners.Count);
        var at = 18;
        foreach (var id in result.Voters.Concat(result.Learners))
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at), id);
            at += 8;
        }
        if (!context.IsEmpty)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(ids), (uint)context.Length);
            context.CopyTo(bytes.AsSpan(ids + 4));
        }
        return bytes;
    }

    /// <summary>Reads a <see cref="EntryType.ConfChange"/> entry's payload: the change and the configuration after it.</summary>
    public static (MembershipChange Change, MembershipConfig Config) Decode(ReadOnlySpan<byte> data)
    {
        var (voters, learners, _) = Layout(data);
        var change = new MembershipChange((MembershipChangeType)data[1], BinaryPrimitives.ReadUInt64LittleEndian(data[2..]));
        var ids = new ulong[voters + learners];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = BinaryPrimitives.ReadUInt64LittleEndian(data[(18 + (8 * i))..]);
        }
        return (change, new MembershipConfig(ids.AsSpan(0, voters).ToArray(), ids.AsSpan(voters).ToArray()));
    }

    /// <summary>The context the change was proposed with (empty when none), a slice of <paramref name="data"/>.</summary>
    public static ReadOnlyMemory<byte> ContextOf(ReadOnlyMemory<byte> data)
    {
        var (_, _, context) = Layout(data.Span);
        return context.Length == 0 ? ReadOnlyMemory<byte>.Empty : data.Slice(context.Start, context.Length);
    }

    private static (int Voters, int Learners, (int Start, int Length) Context) Layout(ReadOnlySpan<byte> data)
    {
        if (data.Length < 18 || (data[0] != FormatVersion && data[0] != ContextFormatVersion))
        {
            throw new FormatException($"membership change of {data.Length} bytes, version {(data.Length > 0 ? data[0] : 0)}");
        }
        var voters = BinaryPrimitives.ReadUInt32LittleEndian(data[10..]);
        var learners = BinaryPrimitives.ReadUInt32LittleEndian(data[14..]);
        var ids = 18 + (8 * ((ulong)voters + learners));
        if ((ulong)data.Length < ids)
        {
            throw new FormatException($"membership change of {data.Length} bytes lists {voters} voters and {learners} learners");
        }
        if (data[0] == FormatVersion)
        {
            if ((ulong)data.Length != ids)
            {
                throw new FormatException($"membership change of {data.Length} bytes lists {voters} voters and {learners} learners");
            }
            return ((int)voters, (int)learners, (0, 0));
        }
        if ((ulong)data.Length < ids + 4)
        {
            throw new FormatException($"membership change of {data.Length} bytes has no context length");
        }
        var length = BinaryPrimitives.ReadUInt32LittleEndian(data[(int)ids..]);
        if (length == 0 || length > MaxContextBytes || (ulong)data.Length != ids + 4 + length)
        {
            throw new FormatException($"membership change of {data.Length} bytes carries a context of {length} bytes");
        }
        return ((int)voters, (int)learners, ((int)ids + 4, (int)length));
    }

    public override string ToString() => $"{Type} {NodeId}";
}
