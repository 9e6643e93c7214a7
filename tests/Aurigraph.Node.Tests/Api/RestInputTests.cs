using System.Text;
using System.Text.Json;
using Aurigraph.Node.Api;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Hosting;

namespace Aurigraph.Node.Tests.Api;

/// <summary>The REST request checks on their own: base64 forms, the descriptor walk over a JSON body, and the derived limits.</summary>
public sealed class RestInputTests
{
    [Theory]
    [InlineData("+/8=", "+/8=")]  // standard, padded: unchanged
    [InlineData("+/8", "+/8=")]   // standard, unpadded
    [InlineData("-_8", "+/8=")]   // URL-safe, unpadded
    [InlineData("-_8=", "+/8=")]  // URL-safe, padded
    [InlineData("QUJD", "QUJD")]  // no padding needed
    [InlineData("QQ", "QQ==")]
    [InlineData("", "")]
    public void Base64_in_either_alphabet_with_or_without_padding_becomes_standard(string given, string standard)
    {
        Assert.Equal(standard, Base64Text.ToStandard(given));
        Assert.Equal(Convert.FromBase64String(standard), Convert.FromBase64String(Base64Text.ToStandard(given)!));
    }

    [Theory]
    [InlineData("a-b+")]  // mixes the alphabets
    [InlineData("QUJDR")] // one character left over
    [InlineData("Q!==")]
    public void Text_that_is_not_base64_is_refused(string given) => Assert.Null(Base64Text.ToStandard(given));

    [Fact]
    public void A_submission_body_with_url_safe_bytes_is_rewritten_to_standard_base64_and_other_fields_are_kept()
    {
        var body = new byte[] { 0xfb, 0xff, 0xbf, 0x01 };
        var json = $$"""{"transactions": [{"body": "{{Convert.ToBase64String(body).TrimEnd('=').Replace('+', '-').Replace('/', '_')}}", "signature": "AA"}, {"body": "AAAA", "signature": "AAAA"}], "unknown": 1}""";

        var (rewritten, error) = JsonBodyInspector.Inspect(Encoding.UTF8.GetBytes(json), SubmitTransactionsRequest.Descriptor);

        Assert.Null(error);
        Assert.NotNull(rewritten);
        using var doc = JsonDocument.Parse(rewritten);
        var txs = doc.RootElement.GetProperty("transactions");
        Assert.Equal(body, Convert.FromBase64String(txs[0].GetProperty("body").GetString()!));
        Assert.Equal("AA==", txs[0].GetProperty("signature").GetString());
        Assert.Equal("AAAA", txs[1].GetProperty("body").GetString());
        Assert.Equal(1, doc.RootElement.GetProperty("unknown").GetInt32());
    }

    [Fact]
    public void A_body_that_needs_nothing_is_passed_as_it_came()
    {
        var (rewritten, error) = JsonBodyInspector.Inspect("""{"transactions": [{"body": "AAAA", "signature": "AA=="}]}"""u8, SubmitTransactionsRequest.Descriptor);
        Assert.Null(error);
        Assert.Null(rewritten);
        // Not JSON: left to the transcoder, which answers 400 itself.
        Assert.Equal((null, null), JsonBodyInspector.Inspect("{bad"u8, SubmitTransactionsRequest.Descriptor));
    }

    [Fact]
    public void A_bad_bytes_value_is_refused_with_its_path_and_json_escapes_are_read()
    {
        var (_, error) = JsonBodyInspector.Inspect("""{"transactions": [{"body": "AAAA"}, {"signature": "AA", "body": "no good!"}]}"""u8, SubmitTransactionsRequest.Descriptor);
        Assert.Equal("transactions[1].body must be base64 (standard or URL-safe alphabet, padding optional)", error);

        // An escaped slash and an escaped property name are the same text to a JSON parser.
        var (rewritten, none) = JsonBodyInspector.Inspect("""{"transactions": [{"b\u006fdy": "+\/8", "signature": "AA=="}]}"""u8, SubmitTransactionsRequest.Descriptor);
        Assert.Null(none);
        using var doc = JsonDocument.Parse(rewritten!);
        Assert.Equal("+/8=", doc.RootElement.GetProperty("transactions")[0].GetProperty("body").GetString());
    }

    [Theory]
    [InlineData("""{"change": "SWAP_NODE", "nodeId": "1"}""", "change: 'SWAP_NODE' is not a MembershipChangeType")]
    [InlineData("""{"change": 9, "nodeId": "1"}""", "change: '9' is not a MembershipChangeType")]
    public void An_enum_value_outside_its_enum_is_refused_naming_the_field_and_the_allowed_values(string json, string reason)
    {
        var (_, error) = JsonBodyInspector.Inspect(Encoding.UTF8.GetBytes(json), ChangeMembershipRequest.Descriptor);
        Assert.NotNull(error);
        Assert.StartsWith(reason, error, StringComparison.Ordinal);
        Assert.Contains("MEMBERSHIP_CHANGE_TYPE_UNSPECIFIED (0), ADD_LEARNER (1), PROMOTE_LEARNER (2), REMOVE_NODE (3)", error, StringComparison.Ordinal);
        Assert.Equal((null, null), JsonBodyInspector.Inspect("""{"change": "REMOVE_NODE", "nodeId": 4}"""u8, ChangeMembershipRequest.Descriptor));
    }

    [Fact]
    public void Every_api_limit_derives_from_one_setting_and_it_must_fit_the_largest_transaction()
    {
        var limits = new NodeLimits { MaxMessageBytes = 1_000_000 };
        Assert.Equal(1_000_000, limits.GrpcMaxReceiveMessageBytes);
        Assert.Equal(1_000_005L, limits.GrpcMaxRequestBodyBytes);
        Assert.Equal(2_000_000L, limits.RestMaxRequestBodyBytes);
        Assert.Empty(limits.Validate(new NodeOptions { MaxTransactionBytes = 64 * 1024 }));

        var tooSmall = new NodeLimits { MaxMessageBytes = 64 * 1024 };
        var error = Assert.Single(tooSmall.Validate(new NodeOptions { MaxTransactionBytes = 64 * 1024 }));
        Assert.Contains("Aurigraph:Api:MaxMessageBytes must be at least Aurigraph:MaxTransactionBytes", error, StringComparison.Ordinal);
        Assert.Contains("must be at most", Assert.Single(new NodeLimits { MaxMessageBytes = int.MaxValue }.Validate(new NodeOptions { IngressBytes = long.MaxValue })), StringComparison.Ordinal);

        // The ingress gate must hold the largest request, or such a request could never be admitted.
        var gate = Assert.Single(new NodeLimits { MaxMessageBytes = 2_000_000 }.Validate(new NodeOptions { IngressBytes = 1_999_999 }));
        Assert.Contains("Aurigraph:IngressBytes must be at least Aurigraph:Api:MaxMessageBytes = 2000000", gate, StringComparison.Ordinal);
    }

    [Fact]
    public void A_string_that_is_not_unicode_text_is_refused_with_a_reason_not_thrown()
    {
        // Found by fuzzing: invalid UTF-8 in a bytes field, and an escaped lone surrogate, made the reader throw.
        byte[] invalidUtf8 = [.. """{"transactions": [{"body": "QU"""u8, 0xDC, .. """JD"}]}"""u8];
        var (rewritten, error) = JsonBodyInspector.Inspect(invalidUtf8, SubmitTransactionsRequest.Descriptor);
        Assert.Null(rewritten);
        Assert.Contains("not valid Unicode text", error, StringComparison.Ordinal);

        (rewritten, error) = JsonBodyInspector.Inspect("""{"transactions": [{"body": "\uD800QQ"}]}"""u8, SubmitTransactionsRequest.Descriptor);
        Assert.Null(rewritten);
        Assert.Contains("not valid Unicode text", error, StringComparison.Ordinal);
    }
}
