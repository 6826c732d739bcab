using System.Globalization;
using System.Collections.Frozen;
using FlowWatch.Core.Contracts;

namespace FlowWatch.Core.Reference;

/// <summary>
/// Supervisory parameters (DESIGN.md §3.2, Hengqin Art.18, Art.34). Immutable: a change is a new instance that
/// applies to events after it.
/// </summary>
public sealed record Parameters
{
    public decimal MacroPrudentialFactor { get; init; } = 1m;
    public decimal InflowLeverage { get; init; } = 1m;
    public decimal OutflowLeverage { get; init; } = 1m;
    public bool WhitelistRequired { get; init; } = true;

    /// <summary>Account kinds whose same-name transfers count against the penetration quota (EFE by default).</summary>
    public IReadOnlySet<AccountKind> PenetrationKinds { get; init; } = new HashSet<AccountKind> { AccountKind.EFE }.ToFrozenSet();

    /// <summary>Every parameter by its field name, as a log line says what is in force.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"macroPrudentialFactor {MacroPrudentialFactor}, inflowLeverage {InflowLeverage}, outflowLeverage {OutflowLeverage}, "
        + $"whitelistRequired {(WhitelistRequired ? "true" : "false")}, penetrationKinds [{string.Join(",", PenetrationKinds.Order())}]");
}

/// <summary>An entity (account holder) of reference data.</summary>
public sealed record EntityInfo
{
    public required string EntityId { get; init; }
    public string? Name { get; init; }
    public CustomerType? Type { get; init; }
    public decimal? OwnersEquityPrevYear { get; init; }
    public bool Whitelisted { get; init; }
    public bool Sanctioned { get; init; }

    /// <summary>Last activity before monitoring began, in UTC ticks.</summary>
    public long? LastActivityTicks { get; init; }
}

public sealed record AccountInfo(string Account, AccountKind Kind, string EntityId);

/// <summary>
/// One immutable snapshot of reference data (DESIGN.md §3.2). Loaded and validated by <see cref="ReferenceDataLoader"/>;
/// swapped whole when it changes, so a shard never sees half an update.
/// </summary>
public sealed class ReferenceData
{
    public const string Cny = "CNY";
    public const string Usd = "USD";

    public ReferenceData(
        Parameters parameters,
        IReadOnlyDictionary<string, decimal> fxRates,
        IReadOnlyDictionary<string, JurisdictionRisk> highRiskCountries,
        IEnumerable<string> sanctionedNames,
        IEnumerable<EntityInfo> entities,
        IEnumerable<AccountInfo> accounts)
    {
        Parameters = parameters;
        FxRates = fxRates.ToFrozenDictionary(StringComparer.Ordinal);
        if (!FxRates.TryGetValue(Usd, out var usd)) throw new ArgumentException("fxRates must contain USD", nameof(fxRates));
        UsdRate = usd;
        HighRiskCountries = highRiskCountries.ToFrozenDictionary(StringComparer.Ordinal);
        SanctionedNames = sanctionedNames.Select(PartyNames.Normalise).Where(n => n.Length > 0).ToFrozenSet(StringComparer.Ordinal);
        Entities = entities.ToFrozenDictionary(e => e.EntityId, StringComparer.Ordinal);
        Accounts = accounts.ToFrozenDictionary(a => a.Account, StringComparer.Ordinal);
    }

    public Parameters Parameters { get; }
    public FrozenDictionary<string, decimal> FxRates { get; }
    public decimal UsdRate { get; }
    public FrozenDictionary<string, JurisdictionRisk> HighRiskCountries { get; }

    /// <summary>Sanctioned party names, normalised with <see cref="PartyNames.Normalise"/>.</summary>
    public FrozenSet<string> SanctionedNames { get; }
    public FrozenDictionary<string, EntityInfo> Entities { get; }
    public FrozenDictionary<string, AccountInfo> Accounts { get; }

    /// <summary>An empty snapshot with the given USD rate; tests and benchmarks build on it.</summary>
    public static ReferenceData Empty { get; } = new(new Parameters(), new Dictionary<string, decimal> { [Usd] = 7.10m },
        new Dictionary<string, JurisdictionRisk>(), [], [], []);

    /// <summary>CNY per one unit of <paramref name="currency"/>; CNY is 1.</summary>
    public bool TryGetRate(string currency, out decimal rate)
    {
        if (ReferenceEquals(currency, Cny) || currency == Cny)
        {
            rate = 1m;
            return true;
        }
        return FxRates.TryGetValue(currency, out rate);
    }

    /// <summary>
    /// Monitored accounts (of the zone and non-resident kinds, RULES.md §1) whose holder has no record among
    /// <see cref="Entities"/>, in account order. Their payments are judged as an unknown entity's: the holder is not
    /// screened as a sanctioned entity and has no penetration cap. Allowed, as an event may name any entity, but a
    /// holder's id misspelt in <c>accounts</c> shows here.
    /// </summary>
    public IEnumerable<AccountInfo> MonitoredAccountsWithoutHolderRecord() => Accounts.Values
        .Where(a => AccountKinds.ClassOf(a.Kind) is AccountClass.Zone or AccountClass.NonResident && !Entities.ContainsKey(a.EntityId))
        .OrderBy(a => a.Account, StringComparer.Ordinal);

    /// <summary>The same snapshot with other parameters (a control record, DESIGN.md §3.4).</summary>
    public ReferenceData WithParameters(Parameters parameters) => new(this, parameters);

    private ReferenceData(ReferenceData other, Parameters parameters)
    {
        Parameters = parameters;
        FxRates = other.FxRates;
        UsdRate = other.UsdRate;
        HighRiskCountries = other.HighRiskCountries;
        SanctionedNames = other.SanctionedNames;
        Entities = other.Entities;
        Accounts = other.Accounts;
    }
}
