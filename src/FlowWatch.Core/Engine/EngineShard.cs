using System.Globalization;
using System.Runtime.InteropServices;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Decoding;
using FlowWatch.Core.Reference;
using FlowWatch.Core.Scoring;

namespace FlowWatch.Core.Engine;

/// <summary>
/// One shard of the engine: the state of the entities hashed to it and every rule of RULES.md §2–5. Plain
/// single-threaded code with no I/O; one thread writes a shard. Alerts go to the caller's list in rule order.
/// </summary>
public sealed class EngineShard
{
    private const long TicksPerDay = TimeSpan.TicksPerDay;
    private const int RapidPassThroughSlot = StructuringKey.Count;
    private const int FanInSlot = StructuringKey.Count + 1;
    private const int HighFrequencySlot = StructuringKey.Count + 3;
    private const int MlAnomalySlot = StructuringKey.Count + 4;
    private const int TopFeatureCount = 3;

    private readonly RuleSettings _settings;
    private readonly AlertBuilder _alerts;
    private readonly Dictionary<string, EntityState> _entities = new(StringComparer.Ordinal);
    private readonly CounterpartyIds _counterparties = new();
    private readonly WindowPool _windows = new();
    private WindowAggregate _scratch;
    private readonly List<EntityState> _changed = [];
    private readonly decimal[] _bandLower = new decimal[StructuringKey.Count];
    private readonly decimal[] _threshold = new decimal[StructuringKey.Count];
    private readonly double[] _thresholdDouble = new double[StructuringKey.Count];
    private readonly long _windowTicks;
    private readonly long _lateTicks;
    private readonly long _suppressionTicks;
    private readonly ModelHolder? _models;
    private float _quotaUtilisation;

    public EngineShard(RuleSettings settings, TimeProvider? wallClock = null, ModelHolder? models = null)
    {
        _settings = settings;
        _models = models;
        _alerts = new AlertBuilder(wallClock);
        _windowTicks = settings.TrailingWindow.Ticks;
        _lateTicks = settings.LateEventBound.Ticks;
        _suppressionTicks = settings.Suppression.Ticks;
        for (var key = 0; key < StructuringKey.Count; key++)
        {
            _threshold[key] = settings.LargeValue.For(StructuringKey.CategoryOf(key), StructuringKey.ClassOf(key));
            _bandLower[key] = _threshold[key] * settings.StructuringBandFraction;
            _thresholdDouble[key] = (double)_threshold[key];
        }
    }

    public int EntityCount => _entities.Count;

    /// <summary>Counterparties with a number: those named by an entry still in some entity's window.</summary>
    internal int CounterpartiesHeld => _counterparties.Count;

    /// <summary>Sees the features of every event that is not late, before the models score it (training data).</summary>
    public FeatureObserver? Observer { get; set; }

    public EntityState? Find(string entityId) => _entities.GetValueOrDefault(entityId);

    /// <summary>Told of each entity a payment brings to this shard for the first time (not of one adopted from a snapshot).</summary>
    internal Action<string>? EntityMet { get; set; }

    public IEnumerable<EntityState> Entities => _entities.Values;

    /// <summary>Moves the entities changed since the last call into <paramref name="into"/> (snapshots).</summary>
    public void TakeChanged(List<EntityState> into)
    {
        foreach (var entity in _changed) entity.Changed = false;
        into.AddRange(_changed);
        _changed.Clear();
    }

    /// <summary>
    /// Takes over an entity restored from a snapshot, replacing any state held for it. Its window entries get their
    /// counterparties' numbers in this shard's table, and its running window is summed again with them.
    /// </summary>
    public void Adopt(EntityState entity)
    {
        if (_entities.TryGetValue(entity.EntityId, out var replaced) && replaced != entity) ReleaseCounterparties(in replaced.Window, 0, replaced.Window.Count);
        ref var window = ref entity.Window;
        if (entity.Counterparties != _counterparties)
        {
            for (var i = 0; i < window.Count; i++)
            {
                if (window[i].CpId != 0) window.Replace(i, window[i] with { CpId = _counterparties.Hold(entity.Counterparties.AccountOf(window[i].CpId)) });
            }
            entity.Counterparties = _counterparties;
            entity.SumRunningWindow();
        }
        _entities[entity.EntityId] = entity;
    }

    /// <summary>Gives back the counterparty numbers of entries [from, to) of <paramref name="window"/>, which are leaving it.</summary>
    private void ReleaseCounterparties(in WindowBuffer window, int from, int to)
    {
        for (var i = from; i < to; i++)
        {
            if (window[i].CpId != 0) _counterparties.Release(window[i].CpId);
        }
    }

    /// <summary>
    /// Applies a resolved event to its entity and appends the alerts it raises. Answers whether it was late, and
    /// gives the entity's state after the event.
    /// </summary>
    public bool Process(ref PaymentEvent e, ReferenceData reference, List<Alert> output, out EntityState entity) =>
        Process(ref e, reference, output, null, out entity);

    /// <summary>As <see cref="Process(ref PaymentEvent, ReferenceData, List{Alert}, out EntityState)"/>, with the entity's state when the caller knows it.</summary>
    internal bool Process(ref PaymentEvent e, ReferenceData reference, List<Alert> output, EntityState? known, out EntityState entity)
    {
        entity = known ?? StateOf(e.EntityId!);
        if (!entity.Changed)
        {
            entity.Changed = true;
            _changed.Add(entity);
        }
        // The window's oldest running entry (about to leave it) and its end are rarely cached: they load while the
        // rules that need no window run.
        entity.Window.Prefetch(entity.WindowStart);
        // So do the rule silences the scored rules read, and the newest large-value accumulators, where LARGE_VALUE_REPORT
        // finds the event's day.
        CacheHint.Prefetch(ref entity.LastFired[MlAnomalySlot]);
        var daily = entity.Daily.AsSpan();
        if (daily.Length > 0) CacheHint.Prefetch(ref daily[^1]);
        var info = e.Holder;
        var ts = e.TimestampTicks;
        var hadEvents = entity.NewestTs != EntityState.NoTime;
        var late = hadEvents && ts < entity.NewestTs - _lateTicks;
        // RULES.md §5 "previous activity", by event time (DESIGN.md §4): the newest event so far, unless this one is out
        // of order within the bound. A late event joins no window and is judged against the newest, as it always was.
        var previousActivity = !hadEvents ? info?.LastActivityTicks ?? EntityState.NoTime
            : ts >= entity.NewestTs || late ? entity.NewestTs
            : ActivityAtOrBefore(entity, ts) ?? info?.LastActivityTicks ?? EntityState.NoTime;
        entity.Events++;
        if (late)
        {
            entity.LateEvents++;
            entity.OutsideWindowNewestTs = Math.Max(entity.OutsideWindowNewestTs, ts);
        }
        // A late event joins no window. Any other holds its counterparty's number in the entry it adds; the counterparty
        // set's slot where that number is counted loads while the rules that need no window run.
        var cpId = late || e.CpAccount is null ? 0 : _counterparties.Hold(e.CpAccount, e.CpAccountSymbol);
        if (cpId != 0) entity.Current.Prefetch(e.Direction, cpId);

        var accountClass = AccountKinds.ClassOf(e.AccountKind);
        var secondLine = e.Channel is Channel.SecondLine or Channel.SecondLineSameName;

        if (accountClass == AccountClass.Zone && e.Method == PaymentMethod.Cash)
        {
            Raise(ref e, output, RuleCodes.CashOnZoneAccount, Severity.II,
                $"Cash {Verb(e.Direction)} of {AlertBuilder.Money(e.Amount, e.Currency)} on zone account {e.Account}; zone accounts may not handle cash.",
                Basic(e));
        }
        if (secondLine && !e.IsCny)
        {
            Raise(ref e, output, RuleCodes.SecondLineNonCny, Severity.II,
                $"Second-line transfer of {AlertBuilder.Money(e.Amount, e.Currency)} between zone account {e.Account} and a domestic account is not in CNY.",
                Basic(e));
        }
        if (e.AccountKind == AccountKind.EFE && e.Channel == Channel.SecondLine
            && !(e.Purpose == Purpose.GoodsTrade && e.CustomsSpecial))
        {
            Raise(ref e, output, RuleCodes.NonSameNameNotGoods, Severity.II,
                $"Transfer of {AlertBuilder.Money(e.Amount, e.Currency)} between EFE account {e.Account} and another entity's domestic account is not goods trade under customs special supervision.",
                Basic(e));
        }
        if (e.Channel == Channel.SecondLineSameName && e.Purpose is Purpose.SecuritiesInvestment or Purpose.LoanNonAffiliate
                or Purpose.RealEstateNonSelfUse or Purpose.OutOfScope)
        {
            Raise(ref e, output, RuleCodes.PenetrationNegativeList, Severity.II,
                $"Same-name penetration of {AlertBuilder.Money(e.Amount, e.Currency)} from {e.Account} is for {Purposes.Code(e.Purpose)}, which the negative list forbids.",
                Basic(e));
        }
        _quotaUtilisation = 0;
        if (CountsAgainstPenetrationQuota(e, reference.Parameters))
        {
            Penetration(ref e, entity, info, reference.Parameters, output);
        }
        if (e.Direction == Direction.Out && e.Channel != Channel.Domestic
            && e.Purpose is Purpose.ServiceTrade or Purpose.PrimaryIncome or Purpose.SecondaryIncome
            && e.AmountUsd is var amountUsd && amountUsd >= _settings.ServicesTaxFilingUsd)
        {
            Raise(ref e, output, RuleCodes.ServicesTaxFiling, Severity.I,
                $"Outward {Purposes.Code(e.Purpose)} payment of {AlertBuilder.Money(e.Amount, e.Currency)} (USD {amountUsd:#,0.##}) needs a tax filing record.",
                Basic(e) with { Observed = amountUsd, Threshold = _settings.ServicesTaxFilingUsd });
        }
        if (e.AccountKind == AccountKind.EFF && (e.Purpose is not (Purpose.Salary or Purpose.Medical or Purpose.Travel or Purpose.Living) || !e.IsCny))
        {
            Raise(ref e, output, RuleCodes.EffPurpose, Severity.II,
                $"EFF account {e.Account} moved {AlertBuilder.Money(e.Amount, e.Currency)} for {Purposes.Code(e.Purpose)}; EFF accounts are for salary, medical, travel and living costs in CNY.",
                Basic(e));
        }
        if (e.InvolvesSanctionedParty)
        {
            Raise(ref e, output, RuleCodes.SanctionedParty, Severity.III,
                $"Payment of {AlertBuilder.Money(e.Amount, e.Currency)} involves a sanctioned party: {SanctionedParties(e, reference)}.",
                Basic(e) with { Counterparty = e.CpName ?? e.CpEntityId });
        }
        var countryRisk = 0;
        if (e.CpCountry is not null && reference.HighRiskCountries.TryGetValue(e.CpCountry, out var risk))
        {
            countryRisk = risk == JurisdictionRisk.CallForAction ? 2 : 1;
            Raise(ref e, output, RuleCodes.HighRiskJurisdiction, risk == JurisdictionRisk.CallForAction ? Severity.II : Severity.I,
                $"Payment of {AlertBuilder.Money(e.Amount, e.Currency)} with a counterparty in {e.CpCountry}, a jurisdiction under {(risk == JurisdictionRisk.CallForAction ? "call for action" : "increased monitoring")}.",
                Basic(e) with { Country = e.CpCountry });
        }
        if ((accountClass == AccountClass.Zone || e.AccountKind == AccountKind.NRA)
            && e.Purpose is Purpose.DirectInvestment or Purpose.CrossBorderFinancing or Purpose.OtherInvestment
            && e.IsCny && reference.Parameters.WhitelistRequired && info?.Whitelisted != true)
        {
            Raise(ref e, output, RuleCodes.WhitelistRequired, Severity.II,
                $"{Purposes.Code(e.Purpose)} of {AlertBuilder.Money(e.Amount, e.Currency)} by entity {e.EntityId}, which is not on the pilot whitelist.",
                Basic(e));
        }

        if (!hadEvents || ts > entity.NewestTs) entity.NewestTs = ts;
        LargeValue(ref e, entity, output);
        if (late)
        {
            DormantReactivation(ref e, previousActivity, output);
            return true;
        }
        ref readonly var aggregate = ref Windows(ref e, entity, cpId, output);
        DormantReactivation(ref e, previousActivity, output);
        Scored(ref e, entity, in aggregate, previousActivity, countryRisk, output);
        return false;
    }

    /// <summary>
    /// The newest time of the entity's events at or before <paramref name="ts"/>, an event within the lateness bound, or
    /// null when it has none. The window holds every event since the newest it dropped, and that one and every late
    /// event are before <paramref name="ts"/>; entries after it are those of the last few minutes, at the window's end.
    /// </summary>
    private static long? ActivityAtOrBefore(EntityState entity, long ts)
    {
        ref readonly var window = ref entity.Window;
        var atOrBefore = window.UpperBound(ts) - 1;
        var newest = Math.Max(atOrBefore >= 0 ? window[atOrBefore].Ts : EntityState.NoTime, entity.OutsideWindowNewestTs);
        return newest == EntityState.NoTime ? null : newest;
    }

    private void DormantReactivation(ref PaymentEvent e, long previousActivity, List<Alert> output)
    {
        var ts = e.TimestampTicks;
        // Whole days between the two times, compared with the setting: as exact as comparing ticks, and no day count
        // is too large for it (the ticks of 10^8 days would overflow a long).
        if (previousActivity != EntityState.NoTime && (ts - previousActivity) / TicksPerDay >= _settings.DormantDays
            && e.AmountCny >= _settings.DormantMinAmountCny)
        {
            var days = (decimal)(ts - previousActivity) / TicksPerDay;
            var reported = decimal.Round(days, 4);
            // observed/threshold are the dormancy against its setting, the pair compared; the amount is in amountCny.
            Raise(ref e, output, RuleCodes.DormantReactivation, Severity.I,
                $"Entity {e.EntityId} was inactive for {days:0.#} days and now moved {AlertBuilder.Money(e.Amount, e.Currency)}.",
                Basic(e) with { DaysSincePreviousActivity = reported, Observed = reported, Threshold = _settings.DormantDays });
        }
    }

    private EntityState StateOf(string entityId)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_entities, entityId, out _);
        if (slot is not null) return slot;
        var met = slot = new EntityState(entityId) { Counterparties = _counterparties };
        EntityMet?.Invoke(entityId);
        return met;
    }

    /// <summary>Which parties of the event are sanctioned (RULES.md §2), so that the alert does not point at an innocent one.</summary>
    private static string SanctionedParties(in PaymentEvent e, ReferenceData reference)
    {
        var parties = new List<string>(3);
        if (e.Holder?.Sanctioned == true) parties.Add($"entity {e.EntityId} is sanctioned");
        if (e.CpHolder is { Sanctioned: true } holder && !string.Equals(holder.EntityId, e.EntityId, StringComparison.Ordinal))
        {
            parties.Add($"counterparty entity {holder.EntityId} is sanctioned");
        }
        if (e.CpName is not null && reference.SanctionedNames.Contains(PartyNames.Normalise(e.CpName)))
        {
            // The name as sent, but for characters that would hide or turn the sentence around (it still matched).
            parties.Add($"counterparty {UnseenCharacters.Shown(e.CpName)} is on the sanctions list");
        }
        AddSanctionedOwner(e.Account, e.EntityId);
        AddSanctionedOwner(e.CpAccount, e.CpEntityId);
        return string.Join("; ", parties);

        void AddSanctionedOwner(string? account, string? named)
        {
            var info = account is null ? null : reference.Accounts.GetValueOrDefault(account);
            if (EventResolver.OwnedBySanctionedEntity(info, named, reference))
            {
                parties.Add($"account {account} belongs to entity {info!.EntityId} in reference data, which is sanctioned");
            }
        }
    }

    /// <summary>Same-name CNY transfers of the kinds in <c>penetrationKinds</c> count against the quota (RULES.md §3).</summary>
    public static bool CountsAgainstPenetrationQuota(in PaymentEvent e, Parameters parameters) =>
        e.Channel == Channel.SecondLineSameName && e.IsCny && parameters.PenetrationKinds.Contains(e.AccountKind);

    private void Penetration(ref PaymentEvent e, EntityState entity, EntityInfo? info, Parameters parameters, List<Alert> output)
    {
        var year = ShanghaiTime.Year(e.TimestampTicks);
        ref var position = ref PositionFor(entity, year);
        var before = position.NetInflow;
        // Zone → domestic (OUT) brings funds into the domestic territory: net inflow N rises (RULES.md §3).
        position.NetInflow += e.Direction == Direction.Out ? e.Amount : -e.Amount;
        var after = position.NetInflow;

        if (info?.OwnersEquityPrevYear is not { } equity)
        {
            Raise(ref e, output, RuleCodes.PenetrationNoQuota, Severity.II,
                $"Same-name penetration of {AlertBuilder.Money(e.Amount, e.Currency)} by entity {e.EntityId}, which has no owner's equity on file and so no quota.",
                Basic(e) with { Observed = after, Year = year });
            return;
        }

        var inflow = e.Direction == Direction.Out;
        var cap = PenetrationQuota.Cap(equity, parameters, inflow);
        // Position in the direction this event increased: N for inflow, −N for outflow.
        var used = inflow ? after : -after;
        var usedBefore = inflow ? before : -before;
        var direction = inflow ? "INFLOW" : "OUTFLOW";
        var ratio = PenetrationQuota.Ratio(used, cap);
        var utilisation = PenetrationQuota.Utilisation(used, cap);
        _quotaUtilisation = cap > 0 ? (float)Math.Min(ratio is { } r ? (double)r : (double)used / (double)cap, 10) : used > 0 ? 10 : 0;
        var metrics = Basic(e) with { Observed = used, Cap = cap, Utilisation = utilisation, Direction = direction, Year = year };
        if (used > cap)
        {
            Raise(ref e, output, RuleCodes.PenetrationCapBreach, Severity.III,
                $"Net same-name {direction.ToLowerInvariant()} of entity {e.EntityId} reached {AlertBuilder.Money(used, "CNY")} in {year}, over its cap of {AlertBuilder.Money(cap, "CNY")}.",
                metrics with { Threshold = cap });
            return;
        }
        var warnAt = cap * _settings.PenetrationWarnUtilisation;
        if (cap > 0 && usedBefore < warnAt && used >= warnAt)
        {
            Raise(ref e, output, RuleCodes.PenetrationCapWarn, Severity.I,
                $"Net same-name {direction.ToLowerInvariant()} of entity {e.EntityId} is at {AlertBuilder.Percent(utilisation!.Value)} of its {year} cap of {AlertBuilder.Money(cap, "CNY")}.",
                // observed/threshold are the position against the warning level, both in CNY: the pair compared.
                metrics with { Threshold = warnAt });
        }
    }

    private static ref PenetrationPosition PositionFor(EntityState entity, int year)
    {
        var positions = entity.Penetration.AsSpan();
        for (var i = 0; i < positions.Length; i++)
        {
            if (positions[i].Year == year) return ref positions[i];
        }
        return ref entity.Penetration.Add(new PenetrationPosition { Year = year });
    }

    private void LargeValue(ref PaymentEvent e, EntityState entity, List<Alert> output)
    {
        var day = ShanghaiTime.DayNumber(e.TimestampTicks);
        var oldestKept = ShanghaiTime.DayNumber(entity.NewestTs) - _settings.LargeValueRetentionDays;
        if (oldestKept > entity.DailyKeptFrom)
        {
            ForgetDaysBefore(ref entity.Daily, oldestKept);
            entity.DailyKeptFrom = oldestKept;
        }
        if (day < oldestKept) return;   // older than the accumulators kept: see docs/SEMANTICS.md

        var key = StructuringKey.Of(e.Direction, e.Category, e.CurrencyClass);
        ref var accumulator = ref AccumulatorFor(entity, day, key);
        var threshold = _threshold[key];
        // One report per accumulator and day: once reached, it has nothing left to count, and a sum kept growing
        // could leave decimal's range (10^15 units at the rate bounds are 10^27 USD).
        if (accumulator.Reached(threshold)) return;
        if (e.IsCny) accumulator.Add(e.Amount, 1m);
        else accumulator.Add(e.AmountCny, e.UsdRate);
        if (accumulator.Reached(threshold))
        {
            var unit = e.IsCny ? "CNY" : "USD-equivalent";
            Raise(ref e, output, RuleCodes.LargeValueReport, Severity.I,
                $"{Describe(key)} of entity {e.EntityId} on {DateOnly.FromDayNumber(day).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)} reached {AlertBuilder.Money(accumulator.Sum, unit)}, at or over the {AlertBuilder.Money(threshold, unit)} large-value report threshold.",
                Basic(e) with
                {
                    Observed = accumulator.Sum, Threshold = threshold, Category = CategoryCode(e.Category),
                    CurrencyClass = e.IsCny ? "CNY" : "FX", Day = DateOnly.FromDayNumber(day).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                });
        }
    }

    private static void ForgetDaysBefore(ref SmallList<DailyAccumulator> accumulators, int oldestKept)
    {
        var kept = 0;
        var span = accumulators.AsSpan();
        for (var i = 0; i < span.Length; i++)
        {
            if (span[i].Day >= oldestKept) span[kept++] = span[i];
        }
        accumulators.Truncate(kept);
    }

    private static ref DailyAccumulator AccumulatorFor(EntityState entity, int day, byte key)
    {
        var accumulators = entity.Daily.AsSpan();
        // Newest first: an event's day is nearly always the latest, whose accumulators were added last.
        for (var i = accumulators.Length - 1; i >= 0; i--)
        {
            if (accumulators[i].Day == day && accumulators[i].Key == key) return ref accumulators[i];
        }
        return ref entity.Daily.Add(new DailyAccumulator { Day = day, Key = key });
    }

    /// <summary>The trailing-window rules; answers the sums over the event's window (the entity's, or the scratch's).</summary>
    private ref readonly WindowAggregate Windows(ref PaymentEvent e, EntityState entity, int cpId, List<Alert> output)
    {
        var ts = e.TimestampTicks;
        var key = StructuringKey.Of(e.Direction, e.Category, e.CurrencyClass);
        var classAmount = e.ClassAmount;
        var entry = new WindowEntry(ts, e.Direction, e.AmountCny, key,
            classAmount >= _bandLower[key] && classAmount < _threshold[key], classAmount, cpId);
        ref var window = ref entity.Window;
        ref var aggregate = ref entity.Current;
        if (ts >= entity.NewestTs)
        {
            // In order: slide the entity's window to (ts − 24h, ts] and add the event.
            var slid = false;
            while (entity.WindowStart < window.Count && window[entity.WindowStart].Ts <= ts - _windowTicks)
            {
                entity.Current.Remove(in window[entity.WindowStart]);
                entity.WindowStart++;
                slid = true;
            }
            // A sum that went past exactness is summed afresh once entries have left, so that it is again the sum of the
            // entries in the window (as a restored state's is), not one carrying a rounding of an entry gone.
            if (slid && entity.Current.MayBeRounded) entity.SumRunningWindow();
            // Entries older than the window and the lateness bound serve no event. They are dropped an hour's worth at a
            // time, so that an ordinary event does not read the oldest entry (a cache miss) to find nothing to drop.
            var dropUpTo = ts - _windowTicks - _lateTicks;
            if (window.OldestTs <= dropUpTo - TimeSpan.TicksPerHour)
            {
                var expired = 0;
                while (expired < entity.WindowStart && window[expired].Ts <= dropUpTo) expired++;
                if (expired > 0) entity.OutsideWindowNewestTs = Math.Max(entity.OutsideWindowNewestTs, window[expired - 1].Ts);
                ReleaseCounterparties(in window, 0, expired);
                window.DropFirst(expired);
                entity.WindowStart -= expired;
                entity.HourStart = Math.Max(entity.HourStart - expired, 0);
            }
            window.Append(in entry, _windows);
            entity.Current.Add(in entry);
        }
        else
        {
            // Out of order within the lateness bound: it joins the entity's current window if it falls inside,
            // and its own window (ts − 24h, ts] is summed afresh.
            window.InsertSorted(in entry, _windows);
            if (ts > entity.NewestTs - _windowTicks) entity.Current.Add(in entry);
            else entity.WindowStart++;   // sorted before the current window
            aggregate = ref _scratch;
            aggregate.Clear();
            for (var i = 0; i < window.Count; i++)
            {
                ref readonly var item = ref window[i];
                if (item.Ts > ts - _windowTicks && item.Ts <= ts) aggregate.Add(in item);
            }
        }

        if (entry.InBand && aggregate.BandCount[key] >= _settings.StructuringMinCount)
        {
            var bandSum = BandSum(in window, key, ts);
            if (bandSum >= _threshold[key] && Quiet(ref entity.LastFired[key], ts, _suppressionTicks))
            {
                var unit = e.IsCny ? "CNY" : "USD-equivalent";
                Raise(ref e, output, RuleCodes.Structuring, Severity.II,
                    $"Entity {e.EntityId} made {aggregate.BandCount[key]} {Describe(key).ToLowerInvariant()}s within 24 hours, each just below the {AlertBuilder.Money(_threshold[key], unit)} report threshold, totalling {AlertBuilder.Money(bandSum, unit)}.",
                    Basic(e) with
                    {
                        Count = aggregate.BandCount[key], Observed = bandSum, Threshold = _threshold[key],
                        Category = CategoryCode(e.Category), CurrencyClass = e.IsCny ? "CNY" : "FX",
                    });
            }
        }
        if (e.Direction == Direction.Out && aggregate.InflowCny >= _settings.RapidPassThroughMinInflowCny
            && aggregate.OutflowCny >= _settings.RapidPassThroughOutflowRatio * aggregate.InflowCny
            && Quiet(ref entity.LastFired[RapidPassThroughSlot], ts, _suppressionTicks))
        {
            Raise(ref e, output, RuleCodes.RapidPassThrough, Severity.II,
                $"Entity {e.EntityId} received {AlertBuilder.Money(aggregate.InflowCny, "CNY")} and paid out {AlertBuilder.Money(aggregate.OutflowCny, "CNY")} within 24 hours.",
                Basic(e) with
                {
                    InflowCny = aggregate.InflowCny, OutflowCny = aggregate.OutflowCny, Observed = aggregate.OutflowCny,
                    Threshold = _settings.RapidPassThroughOutflowRatio * aggregate.InflowCny,
                });
        }
        if (e.CpAccount is not null)
        {
            var distinct = aggregate.DistinctCounterparties(e.Direction);
            if (distinct >= _settings.FanDistinctCounterparties && Quiet(ref entity.LastFired[FanInSlot + (int)e.Direction], ts, _suppressionTicks))
            {
                var inbound = e.Direction == Direction.In;
                Raise(ref e, output, inbound ? RuleCodes.FanIn : RuleCodes.FanOut, Severity.I,
                    $"Entity {e.EntityId} {(inbound ? "received funds from" : "sent funds to")} {distinct} distinct counterparties within 24 hours.",
                    Basic(e) with { Count = distinct, Observed = distinct, Threshold = _settings.FanDistinctCounterparties, Direction = inbound ? "IN" : "OUT" });
            }
        }
        return ref aggregate;
    }

    /// <summary>
    /// The scored rules of RULES.md §6 on an event that is not late: its features from the entity's windows and
    /// baselines as they were before it, HIGH_FREQUENCY, AMOUNT_ANOMALY and ML_ANOMALY; then the baselines learn it.
    /// </summary>
    private void Scored(ref PaymentEvent e, EntityState entity, in WindowAggregate aggregate, long previousActivity, int countryRisk, List<Alert> output)
    {
        var ts = e.TimestampTicks;
        ref readonly var window = ref entity.Window;
        // In order (the usual case) the event is the newest entry and the running window starts at WindowStart.
        var inOrder = ts >= entity.NewestTs;
        var upToNow = inOrder ? window.Count : window.UpperBound(ts);
        var count1m = upToNow - window.UpperBound(ts - TimeSpan.TicksPerMinute, upToNow);
        int count1h;
        if (inOrder)
        {
            // Entries before either start are at or before ts − 1 hour: the hour begins at neither's left.
            var hourStart = Math.Max(entity.HourStart, entity.WindowStart);
            while (window[hourStart].Ts <= ts - TimeSpan.TicksPerHour) hourStart++;
            entity.HourStart = hourStart;
            count1h = upToNow - hourStart;
        }
        else
        {
            count1h = upToNow - window.UpperBound(ts - TimeSpan.TicksPerHour, upToNow);
        }
        var count24h = upToNow - (inOrder ? entity.WindowStart : window.UpperBound(ts - _windowTicks, upToNow));
        ref var baseline = ref entity.Baseline;
        var amountCny = (double)e.AmountCny;
        var logAmount = Math.Log(amountCny);
        var amountWarm = baseline.AmountSamples >= _settings.AmountAnomalyWarmupEvents;
        var amountScore = amountWarm ? baseline.AmountScore(logAmount, _settings.BaselineAmountDeviationFloor) : 0;
        var hourlyWarm = baseline.Hours >= _settings.HighFrequencyWarmupHours;
        var hourlyScore = hourlyWarm ? baseline.HourlyScore(count1h) : 0;

        // The feature vector is needed to score the event (unless the entity is silent for ML_ANOMALY, which then
        // cannot fire) and by an observer collecting training data.
        var models = _models?.Current;
        var score = models is not null && !Silent(entity.LastFired[MlAnomalySlot], ts, _settings.MlAnomalySuppression.Ticks);
        Span<float> features = stackalloc float[Features.Count];
        if (score || Observer is not null)
        {
            FillFeatures(in e, entity, in aggregate, previousActivity, countryRisk, count1m, count1h, count24h, amountCny, logAmount, amountScore, hourlyScore, features);
            Observer?.Invoke(in e, features);
        }

        if (hourlyWarm && count1h >= _settings.HighFrequencyMinCount && hourlyScore >= _settings.HighFrequencyScore
            && Quiet(ref entity.LastFired[HighFrequencySlot], ts, _settings.HighFrequencySuppression.Ticks))
        {
            var firing = FiringCount(baseline);
            Raise(ref e, output, RuleCodes.HighFrequency, Severity.II,
                $"Entity {e.EntityId} made {count1h} payments in the last hour; its usual hourly count is {baseline.HourlyMean:0.##} and {firing} would already be unusual.",
                Basic(e) with
                {
                    Count = count1h, Observed = count1h, Baseline = Rounded(baseline.HourlyMean), Threshold = firing,
                    Score = Rounded(hourlyScore),
                    TopFeatures = [Feature("count1h", count1h), Feature("count1m", count1m), Feature("hourlyScore", hourlyScore)],
                });
        }
        if (amountWarm && amountScore >= _settings.AmountAnomalyScore && e.AmountCny >= _settings.AmountAnomalyMinCny)
        {
            var deviation = baseline.LogAmountDeviation(_settings.BaselineAmountDeviationFloor);
            var typical = Rounded(Math.Exp(baseline.LogAmountMean));
            Raise(ref e, output, RuleCodes.AmountAnomaly, Severity.II,
                $"Entity {e.EntityId} moved {AlertBuilder.Money(e.AmountCny, "CNY")}, {amountScore:0.#} deviations above its usual amounts (typically {AlertBuilder.Money(typical, "CNY")}).",
                Basic(e) with
                {
                    Observed = e.AmountCny, Baseline = typical,
                    // The amount that would fire: far enough above the entity's usual amounts, and at least the rule's minimum.
                    Threshold = Math.Max(Rounded(Math.Exp(baseline.LogAmountMean + _settings.AmountAnomalyScore * deviation)), _settings.AmountAnomalyMinCny),
                    Score = Rounded(amountScore),
                    TopFeatures = [Feature("amountScore", amountScore), Feature("amountCny", (double)e.AmountCny)],
                });
        }
        if (score)
        {
            if (models!.TryReach(features, _settings.MlAnomalyThreshold, out var probability) && Quiet(ref entity.LastFired[MlAnomalySlot], ts, _settings.MlAnomalySuppression.Ticks))
            {
                var severity = probability >= _settings.MlAnomalySeverityIII ? Severity.III
                    : probability >= _settings.MlAnomalySeverityII ? Severity.II : Severity.I;
                var top = models.TopFeatures(features, TopFeatureCount);
                var shown = ShownProbability(probability);
                Raise(ref e, output, RuleCodes.MlAnomaly, severity,
                    $"Payment of {AlertBuilder.Money(e.Amount, e.Currency)} by entity {e.EntityId} scored {shown:0.####} as anomalous (models {models.Version}), driven by {string.Join(", ", top)}.",
                    Basic(e) with
                    {
                        // Observed: the event's novelty (the detector's residual); baseline: that of 99% of normal training events.
                        Observed = Rounded(features[Features.Novelty]), Baseline = Rounded(models.NormalNovelty),
                        Score = shown, Threshold = Rounded(_settings.MlAnomalyThreshold), TopFeatures = top,
                    });
            }
        }

        baseline.ObserveAmount(logAmount, _settings.BaselineAmountMemory, _settings.BaselineAmountDeviationFloor, _settings.BaselineAmountClip);
        baseline.ObserveHour(ts / TimeSpan.TicksPerHour, _settings.BaselineHourlyMemory);
    }

    /// <summary>
    /// The smallest hourly count HIGH_FREQUENCY fires at (a whole count, at least the rule's minimum), as the score
    /// judges it: the ceiling of mean + score × spread, moved by one where the double arithmetic of the two disagrees.
    /// </summary>
    private int FiringCount(in Baseline baseline)
    {
        var minimum = _settings.HighFrequencyMinCount;
        var firing = Math.Max((int)Math.Ceiling(baseline.HourlyMean + _settings.HighFrequencyScore * baseline.HourlySpread), minimum);
        if (firing > minimum && baseline.HourlyScore(firing - 1) >= _settings.HighFrequencyScore) return firing - 1;
        return baseline.HourlyScore(firing) >= _settings.HighFrequencyScore ? firing : firing + 1;
    }

    /// <summary>The features of <see cref="Features"/> for an event, from the entity's state before it.</summary>
    private void FillFeatures(in PaymentEvent e, EntityState entity, in WindowAggregate aggregate, long previousActivity, int countryRisk,
        int count1m, int count1h, int count24h, double amountCny, double logAmount, double amountScore, double hourlyScore, Span<float> features)
    {
        var ts = e.TimestampTicks;
        features[Features.AmountScore] = (float)amountScore;
        features[Features.LogAmountCny] = (float)logAmount;
        features[Features.LogCount1m] = CountLog.Of(count1m);
        features[Features.LogCount1h] = CountLog.Of(count1h);
        features[Features.LogCount24h] = CountLog.Of(count24h);
        features[Features.HourlyScore] = (float)hourlyScore;
        features[Features.LogGapSeconds] = previousActivity == EntityState.NoTime ? 0
            : MathF.Log(1 + Math.Max(ts - previousActivity, 0) / (float)TimeSpan.TicksPerSecond);
        features[Features.LogDistinctCounterparties] = CountLog.Of(1 + aggregate.DistinctCounterparties(e.Direction));
        var local = ts + ShanghaiTime.OffsetTicks;
        features[Features.HourOfDay] = local / TimeSpan.TicksPerHour % 24;
        features[Features.Weekend] = (local / TimeSpan.TicksPerDay + 1) % 7 is 0 or 6 ? 1 : 0;   // day 0 was a Monday
        features[Features.CountryRisk] = countryRisk;
        features[Features.CrossBorder] = e.Channel is Channel.FirstLine or Channel.CrossBorder ? 1 : 0;
        features[Features.SameName] = e.Channel == Channel.SecondLineSameName ? 1 : 0;
        features[Features.QuotaUtilisation] = _quotaUtilisation;
        features[Features.RoundAmount] = RoundAmount.Of(e.Amount);
        var key = StructuringKey.Of(e.Direction, e.Category, e.CurrencyClass);
        features[Features.ThresholdRatio] = (float)Math.Min((e.IsCny ? amountCny : (double)e.FxAmountUsd) / _thresholdDouble[key], 2);
        features[Features.PassThroughRatio] = PassThroughRatio(in aggregate);
        features[Features.Outgoing] = e.Direction == Direction.Out ? 1 : 0;
        features[Features.LogEventsSeen] = CountLog.Of(entity.Events);
    }

    /// <summary>
    /// min(IN, OUT) / max(IN, OUT) of the window, 0 unless both flowed, compared as doubles rather than decimals. The
    /// conversion keeps signs, and the order of two sums unless they lie within a rounding of each other, where either
    /// quotient is 1 as a float: the feature is the one the decimals give.
    /// </summary>
    private static float PassThroughRatio(in WindowAggregate aggregate)
    {
        double inflow = (double)aggregate.InflowCny, outflow = (double)aggregate.OutflowCny;
        return inflow > 0 && outflow > 0 ? (float)(Math.Min(inflow, outflow) / Math.Max(inflow, outflow)) : 0;
    }

    /// <summary>
    /// An ML_ANOMALY probability as its alert shows it, to 4 decimals rounded down, so that the score shown never reaches
    /// a severity band the probability did not (RULES.md §6).
    /// </summary>
    internal static decimal ShownProbability(double probability)
    {
        var shown = decimal.Round((decimal)probability, 4, MidpointRounding.ToZero);
        // A double becomes a decimal of 15 significant digits: one just below a band (0.9899999999999999) reads as the band.
        return (double)shown > probability ? shown - 0.0001m : shown;
    }

    /// <summary>A feature as it reads in an alert: counts and amounts as themselves, not their logarithms.</summary>
    private static string Feature(string name, double value) => name + "=" + value.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>A double as a decimal metric with at most four decimals, bounded so that no value overflows.</summary>
    private static decimal Rounded(double value) => decimal.Round((decimal)Math.Clamp(value, -1e20, 1e20), 4);

    /// <summary>
    /// Sum of the key's in-band amounts in (ts − window, ts], added in event-time order. Summed afresh rather than kept
    /// up to date: USD-equivalents carry 28 significant digits, and a running sum would keep the rounding of events
    /// that have left the window, so the reported total would depend on more than the events in it.
    /// </summary>
    private decimal BandSum(in WindowBuffer window, byte key, long ts)
    {
        var sum = 0m;
        for (var i = 0; i < window.Count; i++)
        {
            ref readonly var item = ref window[i];
            if (item.InBand && item.Key == key && item.Ts > ts - _windowTicks && item.Ts <= ts) sum += item.ClassAmount;
        }
        return sum;
    }

    /// <summary>
    /// True when the rule fired within <paramref name="silence"/> before <paramref name="ts"/>. Compared as the time
    /// since it fired, which two event times always give, where their sum could pass long's range for a long silence.
    /// </summary>
    private static bool Silent(long lastFired, long ts, long silence) => lastFired != EntityState.NoTime && ts - lastFired < silence;

    /// <summary>True, and starts the silence, when the rule has not fired within <paramref name="silence"/> before <paramref name="ts"/>.</summary>
    private static bool Quiet(ref long lastFired, long ts, long silence)
    {
        if (Silent(lastFired, ts, silence)) return false;
        lastFired = ts;
        return true;
    }

    /// <summary>Adds an alert; its message is formatted invariantly, whatever the host's culture.</summary>
    private void Raise(ref PaymentEvent e, List<Alert> output, string rule, Severity severity, FormattableString message, AlertMetrics metrics) =>
        output.Add(_alerts.Build(in e, rule, severity, message.ToString(CultureInfo.InvariantCulture), metrics));

    private static AlertMetrics Basic(in PaymentEvent e) => new()
    {
        Amount = e.Amount,
        Currency = e.Currency,
        AmountCny = e.AmountCny,
        Direction = Directions.Code(e.Direction),
        Channel = ChannelCode(e.Channel),
        Purpose = Purposes.Code(e.Purpose),
        Counterparty = e.CpAccount,
        Country = e.CpCountry,
    };

    private static string Verb(Direction direction) => direction == Direction.In ? "deposit" : "withdrawal";

    public static string ChannelCode(Channel channel) => channel switch
    {
        Channel.FirstLine => "FIRST_LINE",
        Channel.SecondLineSameName => "SECOND_LINE_SAME_NAME",
        Channel.SecondLine => "SECOND_LINE",
        Channel.CrossBorder => "CROSS_BORDER",
        _ => "DOMESTIC",
    };

    public static string CategoryCode(LargeValueCategory category) => category switch
    {
        LargeValueCategory.Cash => "CASH",
        LargeValueCategory.NonIndividualTransfer => "NON_INDIVIDUAL_TRANSFER",
        LargeValueCategory.IndividualDomestic => "INDIVIDUAL_DOMESTIC",
        _ => "INDIVIDUAL_CROSS_BORDER",
    };

    private static string Describe(int key)
    {
        var direction = StructuringKey.DirectionOf(key) == Direction.In ? "Inward" : "Outward";
        var category = StructuringKey.CategoryOf(key) switch
        {
            LargeValueCategory.Cash => "cash payment",
            LargeValueCategory.NonIndividualTransfer => "non-individual transfer",
            LargeValueCategory.IndividualDomestic => "individual domestic transfer",
            _ => "individual cross-border transfer",
        };
        return $"{direction} {category}";
    }
}

/// <summary>Receives the features of an event (see <see cref="Features"/>); the span is valid only during the call.</summary>
public delegate void FeatureObserver(in PaymentEvent e, ReadOnlySpan<float> features);
