namespace Aurigraph.Consensus;

/// <summary>
/// An in-memory <see cref="ILogStorage"/>: for tests, simulation and benchmarks. The host calls
/// <see cref="Append"/> and <see cref="SetHardState"/> when it "persists" a <see cref="Ready"/>.
/// </summary>
public sealed class MemoryLogStorage : ILogStorage
{
    // _entries[0] is a sentinel at index 0, term 0, so Term(FirstIndex - 1) always answers.
    private readonly List<Entry> _entries = [new Entry(0, 0, EntryType.NoOp, ReadOnlyMemory<byte>.Empty)];
    private HardState _hardState;

    public HardState InitialState() => _hardState;

    public ulong FirstIndex => 1;

    public ulong LastIndex => (ulong)_entries.Count - 1;

    public ulong Term(ulong index)
    {
        if (index > LastIndex)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"beyond last index {LastIndex}");
        }
        return _entries[(int)index].Term;
    }

    public long CopyEntries(ulong lo, ulong hi, long maxBytes, List<Entry> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        if (lo < FirstIndex || hi > LastIndex + 1 || lo > hi)
        {
            throw new ArgumentOutOfRangeException(nameof(lo), $"[{lo}, {hi}) outside [{FirstIndex}, {LastIndex + 1})");
        }
        long bytes = 0;
        for (var i = lo; i < hi; i++)
        {
            var e = _entries[(int)i];
            if (bytes > 0 && bytes + e.Size > maxBytes)
            {
                break;
            }
            into.Add(e);
            bytes += e.Size;
        }
        return bytes;
    }

    public void SetHardState(HardState state) => _hardState = state;

    /// <summary>Appends entries, first discarding any held entries at or after the first new index.</summary>
    public void Append(IReadOnlyList<Entry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return;
        }
        var first = entries[0].Index;
        if (first == 0 || first > LastIndex + 1)
        {
            throw new InvalidOperationException($"append at {first} leaves a gap after {LastIndex}");
        }
        if (first <= LastIndex)
        {
            _entries.RemoveRange((int)first, _entries.Count - (int)first);
        }
        for (var i = 0; i < entries.Count; i++)
        {
            _entries.Add(entries[i]);
        }
    }

    /// <summary>The entry at <paramref name="index"/> (tests and checkers).</summary>
    public Entry EntryAt(ulong index) => _entries[(int)index];
}
