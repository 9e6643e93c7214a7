namespace Aurigraph.Node.Carbon;

/// <summary>A block's carbon section: when the leader proposed the block, the carbon records and the retired offsets it commits.</summary>
/// <param name="ProposedAtMs">The leader's clock when it cut the block, Unix ms; 0 when not stated (sections before carbon format 3).</param>
/// <param name="Records">Carbon records, main and late.</param>
/// <param name="Offsets">Offset retirements to record, in the order the leader took them.</param>
public sealed record CarbonSection(long ProposedAtMs, IReadOnlyList<CarbonRecord> Records, IReadOnlyList<OffsetRetirement> Offsets);
