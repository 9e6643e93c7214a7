using Aurigraph.Consensus;
using NodeRole = Aurigraph.Node.Hosting.NodeRole;
using Aurigraph.Node.Hosting;
using Aurigraph.Node.Storage;

namespace Aurigraph.Node.Tests.Hosting;

/// <summary>The address book: member records on the wire and in the database, what it learns, keeps and forgets.</summary>
public sealed class AddressBookTests : IDisposable
{
    private const string Chain = "aurigraph-devnet";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aurigraph-book-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static MemberOptions Member(ulong id, NodeRole role = NodeRole.Business, string cloud = "") => new()
    {
        Id = id,
        Role = role,
        PeerAddress = $"127.0.0.1:{24000 + id}",
        ApiAddress = $"http://127.0.0.1:{24100 + id}",
        RestAddress = $"http://127.0.0.1:{24200 + id}",
        Cloud = cloud,
        Region = cloud.Length > 0 ? "eastus" : "",
        Zone = cloud.Length > 0 ? "b" : "",
    };

    private static NodeOptions Options(ulong self, params MemberOptions[] members) => new() { NodeId = self, ChainId = Chain, Members = [.. members] };

    [Fact]
    public void A_member_record_round_trips_and_damaged_records_are_refused()
    {
        var member = Member(9, NodeRole.Slim, "azure");
        var bytes = MemberRecordCodec.Encode(member);
        Assert.True(MemberRecordCodec.SameAs(member, MemberRecordCodec.Decode(bytes)));
        Assert.True(bytes.Length <= MembershipChange.MaxContextBytes);

        Assert.Throws<FormatException>(() => MemberRecordCodec.Decode(bytes.AsSpan(0, bytes.Length - 1)));
        Assert.Throws<FormatException>(() => MemberRecordCodec.Decode([.. bytes, 0]));
        var role = (byte[])bytes.Clone();
        role[9] = 9;
        Assert.Throws<FormatException>(() => MemberRecordCodec.Decode(role));
        var version = (byte[])bytes.Clone();
        version[0] = 2;
        Assert.Throws<FormatException>(() => MemberRecordCodec.Decode(version));
        Assert.Throws<ArgumentException>(() => MemberRecordCodec.Encode(new MemberOptions { Id = 1, Zone = new string('z', MemberRecordCodec.MaxTextBytes + 1) }));
        Assert.Contains(MemberRecordCodec.Problems(new MemberOptions { Id = 3, PeerAddress = "node-3:7000", ApiAddress = "http://a:1", RestAddress = "http://a:2" }, "member"),
            p => p.StartsWith("member:PeerAddress must be host:port with an IP address", StringComparison.Ordinal));
    }

    [Fact]
    public void What_the_book_learns_survives_a_reopen_and_this_node_s_own_record_stays_its_configuration_s()
    {
        Directory.CreateDirectory(_dir);
        var options = Options(1, Member(1, NodeRole.Validator), Member(2, NodeRole.Validator));
        using (var db = NodeDatabase.Open(_dir, Chain, 1))
        {
            var book = AddressBook.Open(options, db);
            Assert.Equal(2, book.Count);
            Assert.True(book.Learn(fromLog: true, record: Member(5, cloud: "aws")));
            Assert.False(book.Learn(fromLog: true, record: Member(5, cloud: "aws"))); // the same record again changes nothing
            var moved = Member(2, NodeRole.Validator);
            moved.PeerAddress = "127.0.0.1:25002";
            Assert.True(book.Learn(moved, fromLog: true)); // the log's record wins over the configuration's
            var impostor = Member(1, NodeRole.Slim);
            Assert.False(book.Learn(impostor, fromLog: true));
            Assert.Equal(NodeRole.Validator, book.Find(1)!.Role);
        }
        using (var db = NodeDatabase.Open(_dir, Chain, 1))
        {
            var book = AddressBook.Open(options, db);
            Assert.Equal(3, book.Count);
            Assert.Equal("aws", book.Find(5)!.Cloud);
            Assert.Equal("127.0.0.1:25002", book.Find(2)!.PeerAddress);
            Assert.Null(book.Joined);
        }
        // What the configuration says and was never learned otherwise follows the configuration at the next start.
        var changed = Options(1, Member(1, NodeRole.Validator), Member(2, NodeRole.Validator), Member(3, NodeRole.Slim));
        changed.Members[2].PeerAddress = "127.0.0.1:26003";
        using (var db = NodeDatabase.Open(_dir, Chain, 1))
        {
            var book = AddressBook.Open(changed, db);
            Assert.Equal("127.0.0.1:26003", book.Find(3)!.PeerAddress);
            Assert.Equal("127.0.0.1:25002", book.Find(2)!.PeerAddress); // learned from the log: the log's record stays
        }
    }

    [Fact]
    public void A_removal_is_remembered_within_its_bound_a_new_add_clears_it_and_a_configured_record_stays()
    {
        Directory.CreateDirectory(_dir);
        var options = Options(1, Member(1, NodeRole.Validator), Member(2));
        using var db = NodeDatabase.Open(_dir, Chain, 1);
        var book = AddressBook.Open(options, db);
        Assert.True(book.Learn(fromLog: true, record: Member(5)));
        Assert.True(book.Remove(5));
        Assert.False(book.Remove(5));
        Assert.True(book.IsRemoved(5));
        Assert.Null(book.Find(5)); // a learned record goes with its member
        Assert.True(book.Remove(2));
        Assert.NotNull(book.Find(2)); // a configured one stays: the configuration still names it
        Assert.False(book.Remove(1)); // never this node itself

        // Only the log takes a removed member back: a snapshot's or a join answer's record of it is ignored.
        Assert.False(book.Learn(fromLog: false, record: Member(5)));
        Assert.True(book.IsRemoved(5));
        Assert.True(book.Learn(fromLog: true, record: Member(5)));
        Assert.False(book.IsRemoved(5));
        Assert.True(AddressBook.Open(options, db).IsRemoved(2));
        Assert.True(book.RememberRemoved([7, 2]));
        Assert.True(book.IsRemoved(7));
        Assert.False(book.RememberRemoved([7]));

        for (ulong id = 1000; id < 1000 + AddressBook.MaxRemoved; id++)
        {
            book.Remove(id);
        }
        Assert.False(book.IsRemoved(2)); // the oldest removal is forgotten first
        Assert.True(book.IsRemoved(1000));
        Assert.True(AddressBook.Open(options, db).IsRemoved(1000 + AddressBook.MaxRemoved - 1));
    }

    [Fact]
    public void The_book_is_bounded_and_a_join_s_answer_is_kept()
    {
        Directory.CreateDirectory(_dir);
        var options = Options(1, Member(1, NodeRole.Validator));
        using var db = NodeDatabase.Open(_dir, Chain, 1);
        var book = AddressBook.Open(options, db);
        for (ulong id = 2; id <= AddressBook.MaxRecords; id++)
        {
            Assert.True(book.Learn(fromLog: true, record: Member(id)));
        }
        Assert.Equal(AddressBook.MaxRecords, book.Count);
        Assert.Throws<AddressBookFullException>(() => book.Learn(fromLog: true, record: Member(AddressBook.MaxRecords + 1)));
        Assert.Null(book.Find(AddressBook.MaxRecords + 1));

        book.SaveJoin([Member(2, NodeRole.Validator)], new MembershipConfig([2, 3, 4], [1, 7]));
        var joined = AddressBook.Open(options, db).Joined;
        Assert.Equal(new MembershipConfig([2, 3, 4], [1, 7]), joined);
        Assert.Equal(NodeRole.Validator, AddressBook.Open(options, db).Find(2)!.Role);
    }
}
