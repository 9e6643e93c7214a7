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

    /// <summary>
    /// The payload of an <see cref="EntryType.ConfChange"/> entry: the change and the whole configuration it
    /// produces, so a node can take its configuration from the entry alone (a joining node replays the log from a
    /// bootstrap configuration that need not be the cluster's first one).
    /// Layout: version u8, type u8, node u64, voter count u32, learner count u32, then the ids (u64, little-endian).
    /// </summary>
    public byte[] Encode(MembershipConfig result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var bytes = new byte[1 + 1 + 8 + 4 + 4 + (8 * (result.Voters.Count + result.Learners.Count))];
        bytes[0] = FormatVersion;
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
        return bytes;
    }

    /// <summary>Reads a <see cref="EntryType.ConfChange"/> entry's payload: the change and the configuration after it.</summary>
    public static (MembershipChange Change, MembershipConfig Config) Decode(ReadOnlySpan<byte> data)
    {
        if (data.Length < 18 || data[0] != FormatVersion)
        {
            throw new FormatException($"membership change of {data.Length} bytes, version {(data.Length > 0 ? data[0] : 0)}");
        }
        var change = new MembershipChange((MembershipChangeType)data[1], BinaryPrimitives.ReadUInt64LittleEndian(data[2..]));
        var voters = BinaryPrimitives.ReadUInt32LittleEndian(data[10..]);
        var learners = BinaryPrimitives.ReadUInt32LittleEndian(data[14..]);
        if ((ulong)data.Length != 18 + (8 * ((ulong)voters + learners)))
        {
            throw new FormatException($"membership change of {data.Length} bytes lists {voters} voters and {learners} learners");
        }
        var ids = new ulong[voters + learners];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = BinaryPrimitives.ReadUInt64LittleEndian(data[(18 + (8 * i))..]);
        }
        return (change, new MembershipConfig(ids.AsSpan(0, (int)voters).ToArray(), ids.AsSpan((int)voters).ToArray()));
    }

    public override string ToString() => $"{Type} {NodeId}";
}
