namespace Aurigraph.Node.Carbon;

/// <summary>How a validator's reading stands in a carbon record.</summary>
public enum CarbonReadingStatus : byte
{
    /// <summary>The reading reached the leader before the record was proposed.</summary>
    Present = 1,

    /// <summary>
    /// No figure for this node: its reading had not reached the leader by the deadline, or the leader refused it (the
    /// entry's reason says why; format 2). A later reading that passes the checks may still fill it (late).
    /// </summary>
    Missing = 2,

    /// <summary>The reading arrived after its height's record had committed with it missing; a later record carried it.</summary>
    Late = 3,
}

/// <summary>What a carbon record does.</summary>
public enum CarbonRecordKind : byte
{
    /// <summary>The first record of a height: every validator, each present or missing.</summary>
    Main = 1,

    /// <summary>Readings that arrived after the height's main record committed, for validators it marked missing.</summary>
    Late = 2,
}

/// <summary>
/// One member's entry in a record: its id, how its reading stands, the reading when there is one, and for a missing
/// entry why, when the leader refused a reading (empty: none arrived in time).
/// </summary>
public sealed record CarbonRecordEntry(ulong NodeId, CarbonReadingStatus Status, CarbonReading? Reading, string Reason = "");

/// <summary>
/// A carbon record as committed in a block's carbon section: for block <see cref="Height"/> (which has
/// <see cref="TransactionCount"/> transactions), one entry per validator (main) or the late readings (late), sorted by node id.
/// </summary>
public sealed record CarbonRecord(CarbonRecordKind Kind, ulong Height, int TransactionCount, IReadOnlyList<CarbonRecordEntry> Entries);
