namespace Aurigraph.Node.Api;

/// <summary>Base64 text as protobuf's JSON mapping accepts it: the standard or the URL-safe alphabet, padded or not.</summary>
internal static class Base64Text
{
    /// <summary>
    /// The same bytes as standard, padded base64: <paramref name="text"/> itself when it already is; null when it is
    /// not base64 in either alphabet (or mixes them).
    /// </summary>
    public static string? ToStandard(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var span = text.AsSpan();
        var urlSafe = span.IndexOfAny('-', '_') >= 0;
        if (urlSafe && span.IndexOfAny('+', '/') >= 0)
        {
            return null;
        }
        var trimmed = span.TrimEnd('=');
        var missing = (4 - (trimmed.Length % 4)) % 4;
        if (missing == 3)
        {
            return null; // one character left over encodes no whole byte
        }
        var standard = text;
        if (urlSafe || trimmed.Length + missing != span.Length)
        {
            var head = trimmed.ToString();
            standard = (urlSafe ? head.Replace('-', '+').Replace('_', '/') : head) + new string('=', missing);
        }
        return System.Buffers.Text.Base64.IsValid(standard) ? standard : null;
    }
}
