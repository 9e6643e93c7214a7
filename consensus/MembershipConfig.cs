namespace Aurigraph.Consensus;

/// <summary>
/// Who belongs to the cluster at one point of the log: the voters (validators) and the learners (business and
/// slim nodes). Immutable; compared by content. Ids are kept in ascending order.
/// </summary>
public sealed class MembershipConfig : IEquatable<MembershipConfig>
{
    private readonly ulong[] _voters;
    private readonly ulong[] _learners;

    public MembershipConfig(IEnumerable<ulong> voters, IEnumerable<ulong> learners)
    {
        ArgumentNullException.ThrowIfNull(voters);
        ArgumentNullException.ThrowIfNull(learners);
        _voters = [.. voters.Distinct().Order()];
        _learners = [.. learners.Distinct().Order()];
        foreach (var id in _learners)
        {
            if (Array.BinarySearch(_voters, id) >= 0)
            {
                throw new ArgumentException($"member {id} is both voter and learner", nameof(learners));
            }
        }
        if (Array.BinarySearch(_voters, 0UL) >= 0 || Array.BinarySearch(_learners, 0UL) >= 0)
        {
            throw new ArgumentException("member id 0 is reserved", nameof(voters));
        }
    }

    /// <summary>No members: what a storage without a snapshot reports.</summary>
    public static MembershipConfig Empty { get; } = new([], []);

    public IReadOnlyList<ulong> Voters => _voters;

    public IReadOnlyList<ulong> Learners => _learners;

    public bool IsEmpty => _voters.Length == 0 && _learners.Length == 0;

    public bool IsVoter(ulong id) => Array.BinarySearch(_voters, id) >= 0;

    public bool IsLearner(ulong id) => Array.BinarySearch(_learners, id) >= 0;

    public bool Contains(ulong id) => IsVoter(id) || IsLearner(id);

    /// <summary>Why <paramref name="change"/> cannot be made to this configuration, or null when it can.</summary>
    public string? Check(MembershipChange change)
    {
        var id = change.NodeId;
        if (id == 0)
        {
            return "member id 0 is reserved";
        }
        return change.Type switch
        {
            MembershipChangeType.AddLearner when Contains(id) => $"node {id} is already a member",
            MembershipChangeType.PromoteLearner when !IsLearner(id) => $"node {id} is not a learner",
            MembershipChangeType.RemoveNode when !Contains(id) => $"node {id} is not a member",
            MembershipChangeType.RemoveNode when IsVoter(id) && _voters.Length == 1 => $"node {id} is the last voter",
            MembershipChangeType.AddLearner or MembershipChangeType.PromoteLearner or MembershipChangeType.RemoveNode => null,
            _ => $"unknown change {change.Type}",
        };
    }

    /// <summary>The configuration after <paramref name="change"/>; throws when <see cref="Check"/> refuses it.</summary>
    public MembershipConfig Apply(MembershipChange change)
    {
        if (Check(change) is { } reason)
        {
            throw new InvalidOperationException(reason);
        }
        var id = change.NodeId;
        return change.Type switch
        {
            MembershipChangeType.AddLearner => new MembershipConfig(_voters, [.. _learners, id]),
            MembershipChangeType.PromoteLearner => new MembershipConfig([.. _voters, id], _learners.Where(l => l != id)),
            _ => new MembershipConfig(_voters.Where(v => v != id), _learners.Where(l => l != id)),
        };
    }

    public bool Equals(MembershipConfig? other) =>
        other is not null && _voters.AsSpan().SequenceEqual(other._voters) && _learners.AsSpan().SequenceEqual(other._learners);

    public override bool Equals(object? obj) => Equals(obj as MembershipConfig);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var v in _voters)
        {
            hash.Add(v);
        }
        hash.Add(0UL);
        foreach (var l in _learners)
        {
            hash.Add(l);
        }
        return hash.ToHashCode();
    }

    public override string ToString() => $"voters [{string.Join(',', _voters)}] learners [{string.Join(',', _learners)}]";
}

/// <summary>
/// The state-machine boundary of a snapshot: the last index and term it covers, and the membership in effect
/// at that index. The core only handles this metadata; the host keeps and transfers the state itself.
/// </summary>
public sealed record SnapshotMeta(ulong Index, ulong Term, MembershipConfig Config)
{
    /// <summary>No snapshot: the log starts at index 1.</summary>
    public static SnapshotMeta None { get; } = new(0, 0, MembershipConfig.Empty);

    public override string ToString() => $"snapshot {Index}@t{Term} {Config}";
}
