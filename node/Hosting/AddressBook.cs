using System.Buffers.Binary;
using System.Collections.Frozen;
using System.Diagnostics;
using Aurigraph.Consensus;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Storage;

namespace Aurigraph.Node.Hosting;

/// <summary>
/// Where each member is: its peer, API and REST addresses, role and location. It starts from this node's
/// <see cref="NodeOptions.Members"/> and learns from the log — an AddLearner change carries the new member's record
/// (<see cref="MemberRecordCodec"/>), a snapshot carries the book — so a member added on the leader becomes reachable on
/// every node without editing their configurations. Which members vote or learn is the log's membership, not the book.
/// </summary>
/// <remarks>
/// Thread-safe: readers see an immutable map (copy-on-write), writers are serialised. Invariants: this node's own
/// record is always its configuration's; at most <see cref="AddressBook.MaxRecords"/> records and <see cref="AddressBook.MaxRemoved"/> removed
/// ids are kept; a removal is undone only by an AddLearner of the log, never by a snapshot or a join answer. What was
/// learned (not what the configuration says, which may change between starts) and the removed ids are written to
/// the database (meta family) before they are visible, so a restart knows what the node knew — also the members
/// learned from log entries since compacted.
/// </remarks>
/// <summary>The address book holds <see cref="AddressBook.MaxRecords"/> records: a new member cannot be taken.</summary>
internal sealed class AddressBookFullException(string message) : InvalidOperationException(message);

internal sealed class AddressBook
{
    /// <summary>Records kept: one per peer the transport may have, and this node.</summary>
    public const int MaxRecords = Transport.TransportOptions.DefaultMaxPeers + 1;

    /// <summary>Ids of removed members kept, so their redials are refused (the oldest are forgotten first).</summary>
    public const int MaxRemoved = 1024;

    private const byte FormatVersion = 1;
    private static readonly byte[] BookKey = "address-book"u8.ToArray();
    private static readonly byte[] JoinedKey = "joined-membership"u8.ToArray();

    private readonly Lock _gate = new();
    private readonly ulong _self;
    private readonly FrozenSet<ulong> _configured;
    private readonly NodeDatabase? _database;
    private FrozenDictionary<ulong, MemberOptions> _members;
    private FrozenSet<ulong> _learned = FrozenSet<ulong>.Empty;
    private ulong[] _removed;

    private AddressBook(ulong self, IEnumerable<MemberOptions> configured, NodeDatabase? database)
    {
        _self = self;
        _database = database;
        _members = configured.ToFrozenDictionary(m => m.Id);
        _configured = _members.Keys.ToFrozenSet();
        _removed = [];
    }

    /// <summary>The book of this node: its configuration's members, then what it learned before (from the database), self from configuration.</summary>
    public static AddressBook Open(NodeOptions options, NodeDatabase? database)
    {
        ArgumentNullException.ThrowIfNull(options);
        var book = new AddressBook(options.NodeId, options.Members, database);
        if (database?.Db.Get(BookKey, database.Meta) is { } raw)
        {
            var (records, removed) = Decode(raw);
            var members = book._members.ToDictionary();
            foreach (var record in records)
            {
                if (record.Id != options.NodeId)
                {
                    members[record.Id] = record;
                }
            }
            book._members = members.ToFrozenDictionary();
            book._learned = records.Where(r => r.Id != options.NodeId).Select(r => r.Id).ToFrozenSet();
            book._removed = removed;
        }
        return book;
    }

    /// <summary>The record of member <paramref name="id"/>, if known.</summary>
    public MemberOptions? Find(ulong id) => _members.GetValueOrDefault(id);

    /// <summary>Every known record (a stable view).</summary>
    public IReadOnlyCollection<MemberOptions> Members => _members.Values;

    public int Count => _members.Count;

    /// <summary>Whether <paramref name="id"/> was removed from the cluster (and not added back since).</summary>
    public bool IsRemoved(ulong id) => Array.IndexOf(Volatile.Read(ref _removed), id) >= 0;

    /// <summary>
    /// Takes <paramref name="record"/> as where its member is (a record learned wins over configuration, except this
    /// node's own). Only an AddLearner of the log (<paramref name="fromLog"/>) takes a removed member back; otherwise
    /// its record is ignored. Returns whether anything changed; false too when the book is full and the id is new.
    /// </summary>
    public bool Learn(MemberOptions record, bool fromLog)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (_gate)
        {
            var known = _members.GetValueOrDefault(record.Id);
            var removed = IsRemoved(record.Id);
            if (record.Id == _self || (removed && !fromLog) || (known is not null && MemberRecordCodec.SameAs(known, record) && !removed))
            {
                return false;
            }
            if (known is null && _members.Count >= MaxRecords)
            {
                throw new AddressBookFullException($"the address book holds {_members.Count} records, its bound; node {record.Id} is not taken (remove members first)");
            }
            var members = _members.ToDictionary();
            members[record.Id] = record;
            Commit(members.ToFrozenDictionary(), _learned.Append(record.Id).ToFrozenSet(), removed ? [.. _removed.Where(id => id != record.Id)] : _removed);
            return true;
        }
    }

    /// <summary>Takes removals another node knows of (a snapshot's, a join answer's); returns whether any was new.</summary>
    public bool RememberRemoved(IEnumerable<ulong> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var changed = false;
        foreach (var id in ids)
        {
            changed |= Remove(id);
        }
        return changed;
    }

    /// <summary>The removed ids kept (what a snapshot and a join answer carry).</summary>
    public IReadOnlyList<ulong> RemovedIds => Volatile.Read(ref _removed);

    /// <summary>Records that <paramref name="id"/> left the cluster (its removal committed): its redials are refused; a learned record is dropped.</summary>
    public bool Remove(ulong id)
    {
        lock (_gate)
        {
            if (IsRemoved(id) || id == _self)
            {
                return false;
            }
            var members = _configured.Contains(id) ? _members : _members.Where(m => m.Key != id).ToFrozenDictionary();
            ulong[] removed = [.. _removed.Skip(Math.Max(0, _removed.Length + 1 - MaxRemoved)), id];
            Commit(members, _learned.Where(l => l != id).ToFrozenSet(), removed);
            return true;
        }
    }

    /// <summary>Every record, encoded (what a snapshot carries).</summary>
    public IReadOnlyList<byte[]> Encoded() => [.. _members.Values.OrderBy(m => m.Id).Select(MemberRecordCodec.Encode)];

    /// <summary>The membership a join answer gave this node, kept until its log or a snapshot says more.</summary>
    public MembershipConfig? Joined
    {
        get
        {
            if (_database?.Db.Get(JoinedKey, _database.Meta) is not { } raw)
            {
                return null;
            }
            var voters = BinaryPrimitives.ReadInt32LittleEndian(raw);
            var ids = Enumerable.Range(0, (raw.Length - 4) / 8).Select(i => BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(4 + (8 * i)))).ToArray();
            return new MembershipConfig(ids[..voters], ids[voters..]);
        }
    }

    /// <summary>Keeps what a join answered: the members' records and the membership this node starts from.</summary>
    public void SaveJoin(IEnumerable<MemberOptions> records, MembershipConfig membership)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(membership);
        foreach (var record in records)
        {
            Learn(record, fromLog: false);
        }
        var raw = new byte[4 + (8 * (membership.Voters.Count + membership.Learners.Count))];
        BinaryPrimitives.WriteInt32LittleEndian(raw, membership.Voters.Count);
        var at = 4;
        foreach (var id in membership.Voters.Concat(membership.Learners))
        {
            BinaryPrimitives.WriteUInt64LittleEndian(raw.AsSpan(at), id);
            at += 8;
        }
        _database?.Db.Put(JoinedKey, raw, _database.Meta, _database.SyncWrite);
    }

    private void Commit(FrozenDictionary<ulong, MemberOptions> members, FrozenSet<ulong> learned, ulong[] removed)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread, "writers are serialised");
        Debug.Assert(members.Count <= MaxRecords && removed.Length <= MaxRemoved, "the book is bounded");
        Debug.Assert(!learned.Contains(_self) && learned.All(members.ContainsKey), "what was learned is in the book, this node aside");
        _database?.Db.Put(BookKey, Encode(learned.Select(id => members[id]), removed), _database.Meta, _database.SyncWrite);
        _learned = learned;
        Volatile.Write(ref _members, members);
        Volatile.Write(ref _removed, removed);
    }

    // book = u8 version | u16 records | (u16 length | record)* | u16 removed | u64* | u32 crc32c (over what precedes it)
    private static byte[] Encode(IEnumerable<MemberOptions> members, ulong[] removed)
    {
        var records = members.Select(MemberRecordCodec.Encode).ToList();
        var raw = new byte[1 + 2 + records.Sum(r => 2 + r.Length) + 2 + (8 * removed.Length) + 4];
        raw[0] = FormatVersion;
        BinaryPrimitives.WriteUInt16LittleEndian(raw.AsSpan(1), (ushort)records.Count);
        var at = 3;
        foreach (var record in records)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(raw.AsSpan(at), (ushort)record.Length);
            record.CopyTo(raw.AsSpan(at + 2));
            at += 2 + record.Length;
        }
        BinaryPrimitives.WriteUInt16LittleEndian(raw.AsSpan(at), (ushort)removed.Length);
        at += 2;
        foreach (var id in removed)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(raw.AsSpan(at), id);
            at += 8;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(at), Checksum.Crc32C(raw.AsSpan(0, at)));
        return raw;
    }

    private static (List<MemberOptions> Records, ulong[] Removed) Decode(byte[] raw)
    {
        try
        {
            if (raw.Length < 9 || raw[0] != FormatVersion || BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(raw.Length - 4)) != Checksum.Crc32C(raw.AsSpan(0, raw.Length - 4)))
            {
                throw new FormatException("version or CRC32C");
            }
            var count = BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(1));
            var records = new List<MemberOptions>(count);
            var at = 3;
            for (var i = 0; i < count; i++)
            {
                var length = BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(at));
                records.Add(MemberRecordCodec.Decode(raw.AsSpan(at + 2, length)));
                at += 2 + length;
            }
            var removed = new ulong[BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(at))];
            at += 2;
            for (var i = 0; i < removed.Length; i++)
            {
                removed[i] = BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(at + (8 * i)));
            }
            if (at + (8 * removed.Length) + 4 != raw.Length)
            {
                throw new FormatException("length");
            }
            return (records, removed);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentOutOfRangeException)
        {
            throw new StorageCorruptionException($"the address book record is damaged ({ex.Message})");
        }
    }
}
