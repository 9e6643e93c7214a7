using System.Buffers.Binary;
using System.Net;
using System.Text;
using Aurigraph.Consensus;

namespace Aurigraph.Node.Hosting;

/// <summary>
/// A member's address-book record on the wire and on disk: what an AddLearner change carries as its context
/// (<see cref="MembershipChange.ContextOf"/>), what the address book persists and what a snapshot carries, so every
/// node learns where a member is from the log rather than from its own configuration.
/// </summary>
/// <remarks>
/// <code>
/// record = u8 version (1) | u64 id | u8 role | 6 × (u16 length | UTF-8): peer, api, rest, cloud, region, zone
/// </code>
/// Little-endian. At most <see cref="MembershipChange.MaxContextBytes"/> bytes; each text at most <see cref="MaxTextBytes"/>.
/// </remarks>
internal static class MemberRecordCodec
{
    private const byte Version = 1;

    /// <summary>The longest address or location text a record holds.</summary>
    public const int MaxTextBytes = 512;

    public static byte[] Encode(MemberOptions member)
    {
        ArgumentNullException.ThrowIfNull(member);
        string[] texts = [member.PeerAddress, member.ApiAddress, member.RestAddress, member.Cloud, member.Region, member.Zone];
        var size = 1 + 8 + 1;
        foreach (var text in texts)
        {
            var bytes = Encoding.UTF8.GetByteCount(text);
            if (bytes > MaxTextBytes)
            {
                throw new ArgumentException($"member {member.Id}: '{text[..32]}...' is {bytes} bytes, over {MaxTextBytes}", nameof(member));
            }
            size += 2 + bytes;
        }
        var record = new byte[size];
        record[0] = Version;
        BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(1), member.Id);
        record[9] = (byte)member.Role;
        var at = 10;
        foreach (var text in texts)
        {
            var written = Encoding.UTF8.GetBytes(text, record.AsSpan(at + 2));
            BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(at), (ushort)written);
            at += 2 + written;
        }
        return record;
    }

    /// <summary>Reads a record; throws <see cref="FormatException"/> for anything but a whole, well-formed one.</summary>
    public static MemberOptions Decode(ReadOnlySpan<byte> record)
    {
        if (record.Length < 10 + 12 || record[0] != Version)
        {
            throw new FormatException($"member record of {record.Length} bytes, version {(record.Length > 0 ? record[0] : 0)}");
        }
        var role = record[9];
        if (!Enum.IsDefined((NodeRole)role))
        {
            throw new FormatException($"member record with unknown role {role}");
        }
        var texts = new string[6];
        var at = 10;
        for (var i = 0; i < texts.Length; i++)
        {
            if (record.Length < at + 2)
            {
                throw new FormatException("member record is truncated");
            }
            var length = BinaryPrimitives.ReadUInt16LittleEndian(record[at..]);
            if (length > MaxTextBytes || record.Length < at + 2 + length)
            {
                throw new FormatException($"member record text of {length} bytes does not fit");
            }
            texts[i] = Encoding.UTF8.GetString(record.Slice(at + 2, length));
            at += 2 + length;
        }
        if (at != record.Length)
        {
            throw new FormatException($"member record has {record.Length - at} bytes after its last field");
        }
        return new MemberOptions
        {
            Id = BinaryPrimitives.ReadUInt64LittleEndian(record[1..]),
            Role = (NodeRole)role,
            PeerAddress = texts[0],
            ApiAddress = texts[1],
            RestAddress = texts[2],
            Cloud = texts[3],
            Region = texts[4],
            Zone = texts[5],
        };
    }

    /// <summary>Whether two records say the same thing (the planning flag <see cref="MemberOptions.Joining"/> aside).</summary>
    public static bool SameAs(MemberOptions a, MemberOptions b) =>
        a.Id == b.Id && a.Role == b.Role && a.PeerAddress == b.PeerAddress && a.ApiAddress == b.ApiAddress && a.RestAddress == b.RestAddress
        && a.Cloud == b.Cloud && a.Region == b.Region && a.Zone == b.Zone;

    /// <summary>
    /// What is wrong with a member's record, each problem prefixed by <paramref name="name"/> (the setting, or the
    /// request field): a non-zero id, an IP peer address, http(s) API and REST addresses that go together.
    /// </summary>
    public static IEnumerable<string> Problems(MemberOptions m, string name)
    {
        ArgumentNullException.ThrowIfNull(m);
        if (m.Id == 0)
        {
            yield return $"{name}:Id must be a non-zero id";
        }
        if (!IPEndPoint.TryParse(m.PeerAddress, out var ep) || ep.Port == 0)
        {
            yield return $"{name}:PeerAddress must be host:port with an IP address (got '{m.PeerAddress}')";
        }
        if (!Uri.TryCreate(m.ApiAddress, UriKind.Absolute, out var api) || (api.Scheme != "http" && api.Scheme != "https"))
        {
            yield return $"{name}:ApiAddress must be an http(s) URL (got '{m.ApiAddress}')";
            api = null;
        }
        if (!Uri.TryCreate(m.RestAddress, UriKind.Absolute, out var rest) || (rest.Scheme != "http" && rest.Scheme != "https"))
        {
            yield return $"{name}:RestAddress must be an http(s) URL (got '{m.RestAddress}')";
        }
        else if (api is not null && rest.Scheme != api.Scheme)
        {
            yield return $"{name}:RestAddress and ApiAddress must both be http or both https (got '{rest.Scheme}' and '{api.Scheme}')";
        }
        else if (api is not null && rest.Port == api.Port && rest.Host == api.Host && api.Scheme != Uri.UriSchemeHttps)
        {
            yield return $"{name}:RestAddress must differ from ApiAddress over http (cleartext gRPC uses HTTP/2 on its own port; over https one port serves both)";
        }
        foreach (var (field, text) in new[] { ("PeerAddress", m.PeerAddress), ("ApiAddress", m.ApiAddress), ("RestAddress", m.RestAddress), ("Cloud", m.Cloud), ("Region", m.Region), ("Zone", m.Zone) })
        {
            if (Encoding.UTF8.GetByteCount(text) > MaxTextBytes)
            {
                yield return $"{name}:{field} is longer than {MaxTextBytes} bytes";
            }
        }
    }
}
