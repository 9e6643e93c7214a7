using System.Buffers;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf.Reflection;

namespace Aurigraph.Node.Api;

/// <summary>
/// Checks a REST JSON body against the protobuf message it carries, in one forward pass of a
/// <see cref="Utf8JsonReader"/> over the body's bytes (no document is built): a bytes field in URL-safe base64 or
/// without padding is rewritten to standard padded base64 (what the transcoder's parser reads), and an enum field
/// whose value is not in its enum is refused naming the field and the allowed values. A body that needs nothing
/// costs no allocation per field; one that is not a JSON object is left to the transcoder, which answers 400.
/// </summary>
internal static class JsonBodyInspector
{
    /// <summary>Nesting the pass follows; deeper bodies are left to the transcoder.</summary>
    public const int MaxDepth = 64;

    /// <summary>Field lookup by JSON name and proto name, per message type (bounded: the API's message types).</summary>
    private static readonly ConcurrentDictionary<MessageDescriptor, Dictionary<string, FieldDescriptor>> FieldsByName = new();

    /// <summary>One open object or array of the body.</summary>
    private struct Frame
    {
        /// <summary>The message an object is (null: not a message the pass follows; arrays: none).</summary>
        public MessageDescriptor? Type;

        /// <summary>The field whose value this object or array is (null at the root).</summary>
        public FieldDescriptor? Field;

        public bool IsArray;

        /// <summary>This frame is an element of its parent array, at <see cref="Index"/>.</summary>
        public bool InArray;

        public int Index;

        /// <summary>Arrays: the index the next element gets.</summary>
        public int Next;
    }

    /// <summary>The rewritten body when a bytes field needed rewriting, or the reason the body is refused, or neither.</summary>
    public static (byte[]? Rewritten, string? Error) Inspect(ReadOnlySpan<byte> body, MessageDescriptor type)
    {
        ArgumentNullException.ThrowIfNull(type);
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = MaxDepth });
        var frames = new Frame[MaxDepth + 1];
        var depth = 0;
        FieldDescriptor? pending = null;
        List<(int Start, int Length, string Standard)>? edits = null;
        Span<char> name = stackalloc char[128];
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                    case JsonTokenType.StartArray:
                        {
                            var isArray = reader.TokenType == JsonTokenType.StartArray;
                            if (depth == 0)
                            {
                                if (isArray)
                                {
                                    return (null, null);
                                }
                                frames[0] = new Frame { Type = type };
                                depth = 1;
                                break;
                            }
                            var (field, inArray, index) = Slot(frames, depth, ref pending);
                            frames[depth++] = new Frame
                            {
                                Field = field,
                                IsArray = isArray,
                                InArray = inArray,
                                Index = index,
                                Type = !isArray && field is { FieldType: FieldType.Message, IsMap: false } f && f.MessageType.File.Package != "google.protobuf" ? f.MessageType : null,
                            };
                            break;
                        }
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        depth--;
                        break;
                    case JsonTokenType.PropertyName:
                        {
                            var owner = frames[depth - 1].Type;
                            if (owner is null)
                            {
                                pending = null;
                                break;
                            }
                            var key = reader.HasValueSequence || reader.ValueSpan.Length > name.Length ? reader.GetString()!.AsSpan() : name[..reader.CopyString(name)];
                            pending = Field(owner, key);
                            break;
                        }
                    default:
                        {
                            if (depth == 0)
                            {
                                return (null, null);
                            }
                            var (field, inArray, index) = Slot(frames, depth, ref pending);
                            if (field is null || reader.TokenType == JsonTokenType.Null)
                            {
                                break;
                            }
                            if (field.FieldType == FieldType.Bytes && reader.TokenType == JsonTokenType.String)
                            {
                                if (IsStandard(ref reader))
                                {
                                    break;
                                }
                                if (Base64Text.ToStandard(reader.GetString()!) is not { } standard)
                                {
                                    return (null, $"{Path(frames, depth, field, inArray, index)} must be base64 (standard or URL-safe alphabet, padding optional)");
                                }
                                var start = (int)reader.TokenStartIndex;
                                (edits ??= []).Add((start, (int)reader.BytesConsumed - start, standard));
                            }
                            else if (field.FieldType == FieldType.Enum)
                            {
                                var got = reader.TokenType == JsonTokenType.String ? reader.GetString() : Encoding.UTF8.GetString(reader.ValueSpan);
                                if (CheckEnum(field, got, Path(frames, depth, field, inArray, index)) is { } error)
                                {
                                    return (null, error);
                                }
                            }
                            break;
                        }
                }
            }
        }
        catch (JsonException)
        {
            return (null, null);
        }
        catch (InvalidOperationException ex)
        {
            // The reader refuses to decode a string that is not text: invalid UTF-8, or an escaped lone surrogate.
            // (Strings are read only at string and property-name tokens, so nothing else raises this here.)
            return (null, "the request body holds a string that is not valid Unicode text: " + ex.Message);
        }
        return (edits is null ? null : Apply(body, edits), null);
    }

    /// <summary>The field the next value fills: the array's element field, or the property just named (then cleared).</summary>
    private static (FieldDescriptor? Field, bool InArray, int Index) Slot(Frame[] frames, int depth, ref FieldDescriptor? pending)
    {
        ref var parent = ref frames[depth - 1];
        if (parent.IsArray)
        {
            return (parent.Field is { IsRepeated: true } ? parent.Field : null, true, parent.Next++);
        }
        var field = pending;
        pending = null;
        return (field, false, 0);
    }

    /// <summary>True when the current string is already standard, padded base64: nothing to rewrite, nothing allocated.</summary>
    private static bool IsStandard(ref Utf8JsonReader reader)
    {
        if (reader.HasValueSequence || reader.ValueIsEscaped)
        {
            return false;
        }
        var text = reader.ValueSpan;
        return text.Length % 4 == 0 && text.IndexOfAny((byte)'-', (byte)'_') < 0 && Base64.IsValid(text);
    }

    /// <summary>The body with each edited string token replaced by its standard base64, quoted (base64 needs no JSON escaping).</summary>
    private static byte[] Apply(ReadOnlySpan<byte> body, List<(int Start, int Length, string Standard)> edits)
    {
        var output = new ArrayBufferWriter<byte>(body.Length + (edits.Count * 4) + 16);
        var at = 0;
        foreach (var (start, length, standard) in edits)
        {
            output.Write(body[at..start]);
            var span = output.GetSpan(standard.Length + 2);
            span[0] = (byte)'"';
            var n = Encoding.ASCII.GetBytes(standard, span[1..]);
            span[n + 1] = (byte)'"';
            output.Advance(n + 2);
            at = start + length;
        }
        output.Write(body[at..]);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>The path of a value for an error: <c>transactions[0].body</c>.</summary>
    private static string Path(Frame[] frames, int depth, FieldDescriptor field, bool inArray, int index)
    {
        var path = new StringBuilder();
        for (var i = 1; i < depth; i++)
        {
            Segment(path, frames[i].Field, frames[i].InArray, frames[i].Index);
        }
        Segment(path, field, inArray, index);
        return path.ToString();

        static void Segment(StringBuilder path, FieldDescriptor? field, bool inArray, int index)
        {
            if (inArray)
            {
                path.Append('[').Append(index.ToString(CultureInfo.InvariantCulture)).Append(']');
            }
            else
            {
                path.Append(path.Length == 0 ? "" : ".").Append(field?.JsonName ?? "?");
            }
        }
    }

    /// <summary>Null when <paramref name="value"/> (a name or a number) is a value of the field's enum; else the reason.</summary>
    public static string? CheckEnum(FieldDescriptor field, string? value, string at)
    {
        ArgumentNullException.ThrowIfNull(field);
        var type = field.EnumType;
        var defined = int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
            ? type.FindValueByNumber(number) is not null
            : value is not null && type.FindValueByName(value) is not null;
        return defined ? null : ApiErrors.InvalidEnum(at, type, value ?? "");
    }

    /// <summary>The field of <paramref name="type"/> with this JSON name or proto name.</summary>
    public static FieldDescriptor? Field(MessageDescriptor type, ReadOnlySpan<char> name) =>
        FieldsByName.GetOrAdd(type, static t =>
        {
            var byName = new Dictionary<string, FieldDescriptor>(StringComparer.Ordinal);
            foreach (var f in t.Fields.InFieldNumberOrder())
            {
                byName[f.Name] = f;
                byName[f.JsonName] = f;
            }
            return byName;
        }).GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(name, out var field) ? field : null;
}
