using Aurigraph.Node.Api.V1;
using Google.Protobuf;

namespace Aurigraph.Client;

/// <summary>
/// An account's Ed25519 key: generated, or read from a key file (the 32-byte private seed as 64 hex characters, what
/// <c>keygen --out</c> and the devnet's <c>keys/dev-N.key</c> hold). Signs transaction bodies for its account.
/// </summary>
public sealed class AurigraphKey : IDisposable
{
    private AurigraphKey(TransactionSigner signer) => Signer = signer;

    /// <summary>The signer underneath, for code that signs bodies itself.</summary>
    public TransactionSigner Signer { get; }

    /// <summary>The 32-byte public key: the account id.</summary>
    public byte[] PublicKey => Signer.PublicKey;

    /// <summary>The public key as lowercase hex, how the API names the account.</summary>
    public string PublicKeyHex => Convert.ToHexStringLower(Signer.PublicKey);

    /// <summary>A new random key.</summary>
    public static AurigraphKey Generate() => new(TransactionSigner.Generate());

    /// <summary>A key from its 32-byte private seed.</summary>
    /// <exception cref="ArgumentException">The seed is not 32 bytes.</exception>
    public static AurigraphKey FromSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != 32)
        {
            throw new ArgumentException($"an Ed25519 seed is 32 bytes, got {seed.Length}", nameof(seed));
        }
        return new(TransactionSigner.FromSeed(seed));
    }

    /// <summary>A key from its private seed as 64 hex characters (surrounding white space ignored).</summary>
    /// <exception cref="FormatException">Not 64 hex characters.</exception>
    public static AurigraphKey FromSeedHex(string seedHex)
    {
        ArgumentNullException.ThrowIfNull(seedHex);
        var text = seedHex.Trim();
        if (text.Length != 64 || !IsHex(text))
        {
            throw new FormatException($"an Ed25519 seed is 64 hex characters, got {text.Length} characters{(IsHex(text) ? "" : " that are not all hex")}");
        }
        return FromSeed(Convert.FromHexString(text));
    }

    /// <summary>Reads a key file: the private seed as 64 hex characters.</summary>
    /// <exception cref="InvalidDataException">The file does not hold a seed.</exception>
    public static AurigraphKey Load(string path)
    {
        var text = File.ReadAllText(path);
        try
        {
            return FromSeedHex(text);
        }
        catch (FormatException ex)
        {
            throw new InvalidDataException($"key file {path}: {ex.Message}", ex);
        }
    }

    /// <summary>Writes the key file (the private seed as 64 hex characters; on Unix readable by its owner only).</summary>
    public void Save(string path)
    {
        var seed = ExportSeedHex();
        if (OperatingSystem.IsWindows())
        {
            File.WriteAllText(path, seed);
            return;
        }
        using var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        using var writer = new StreamWriter(stream);
        writer.Write(seed);
    }

    /// <summary>The private seed as 64 lowercase hex characters (keep it secret).</summary>
    public string ExportSeedHex() => Convert.ToHexStringLower(Signer.ExportSeed());

    /// <summary>Signs <paramref name="body"/>; an empty sender is set to this key's account.</summary>
    /// <exception cref="ArgumentException">The body names another sender.</exception>
    public SignedTx Sign(TransactionBody body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (body.Sender.IsEmpty)
        {
            body = body.Clone();
            body.Sender = ByteString.CopyFrom(PublicKey);
        }
        else if (!body.Sender.Span.SequenceEqual(PublicKey))
        {
            throw new ArgumentException("the body's sender is another account; only its own key can sign for it", nameof(body));
        }
        return SignedTx.Of(Signer.Sign(body));
    }

    /// <summary>Signs a transfer of <paramref name="amount"/> to <paramref name="to"/> (a 32-byte public key).</summary>
    public SignedTx Transfer(string chainId, ulong nonce, ReadOnlySpan<byte> to, ulong amount) => SignedTx.Of(Signer.Transfer(chainId, nonce, to, amount));

    /// <summary>Signs a transfer of <paramref name="amount"/> to the account <paramref name="toHex"/> (its public key, hex).</summary>
    public SignedTx Transfer(string chainId, ulong nonce, string toHex, ulong amount) => Transfer(chainId, nonce, Convert.FromHexString(toHex), amount);

    /// <summary>Signs a put of <paramref name="value"/> under <paramref name="key"/> in this account's own namespace.</summary>
    public SignedTx Put(string chainId, ulong nonce, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => SignedTx.Of(Signer.Put(chainId, nonce, key, value));

    /// <summary>Releases the private key.</summary>
    public void Dispose() => Signer.Dispose();

    private static bool IsHex(string text) => text.All(Uri.IsHexDigit);
}

/// <summary>A signed transaction and its id (SHA-256 of the body bytes it carries).</summary>
/// <param name="Transaction">What is submitted: the body bytes and their signature.</param>
/// <param name="Id">The transaction's id.</param>
public sealed record SignedTx(SignedTransaction Transaction, TransactionId Id)
{
    /// <summary>The id as the API writes it: lowercase hex.</summary>
    public string TxId => Id.ToString();

    /// <summary>Wraps a signed transaction with its id.</summary>
    public static SignedTx Of(SignedTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        return new(transaction, TransactionId.Of(transaction.Body.Span));
    }
}
