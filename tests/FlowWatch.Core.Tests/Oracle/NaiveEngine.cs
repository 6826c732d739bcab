using System.Globalization;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Engine;

namespace FlowWatch.Core.Tests.Oracle;

/// <summary>
/// What the randomized comparison checks of an alert: which event and rule raised it, its id, and the numbers the
/// rule compared. Message, refs and the descriptive metrics (amount, channel, purpose...) are left out.
/// </summary>
internal sealed record ComparableAlert(
    long Sequence,
    string Rule,
    Severity Severity,
    string TxnId,
    string AlertId,
    string EntityId,
    string Account,
    long UtcTicks,
    int OffsetMinutes,
    string? Direction,
    decimal? Observed,
    decimal? Threshold,
    int? Count,
    decimal? Cap,
    decimal? Utilisation,
    int? Year,
    string? Day,
    string? Category,
    string? CurrencyClass,
    decimal? InflowCny,
    decimal? OutflowCny,
    decimal? DaysSincePreviousActivity)
{
    public static ComparableAlert Of(Alert alert) => new(
        alert.Sequence, alert.Rule, alert.Severity, alert.TxnId, alert.AlertId, alert.EntityId, alert.Account,
        alert.Ts.UtcTicks, (int)alert.Ts.Offset.TotalMinutes, alert.Metrics.Direction, alert.Metrics.Observed,
        alert.Metrics.Threshold, alert.Metrics.Count, alert.Metrics.Cap, alert.Metrics.Utilisation, alert.Metrics.Year,
        alert.Metrics.Day, alert.Metrics.Category, alert.Metrics.CurrencyClass, alert.Metrics.InflowCny, alert.Metrics.OutflowCny, alert.Metrics.DaysSincePreviousActivity);
}

/// <summary>
/// A deliberately naive reference implementation ("oracle") of the exact rules of RULES.md §2–5, as read by
/// docs/SEMANTICS.md. It keeps the full list of accepted events in processing order and, for every new event,
/// recomputes each window, lateness test, daily accumulator, penetration position and silence from that history by
/// brute force. Its only state is the history, the alerts fired so far and the reference data in force. It reads
/// payments, control records and reference data itself (<see cref="NaiveRecords"/>) and shares nothing of the
/// engine's decoding, resolution, name normalisation, rule codes and order, thresholds or rule logic; only the
/// vocabulary enums and the rule settings both run under.
/// </summary>
internal sealed class NaiveEngine
{
    private const string Cny = "CNY";

    private static readonly HashSet<string> ZoneKinds = new(StringComparer.Ordinal)
    {
        "FTE", "FTN", "FTU", "FTI", "FTF", "EFE", "EFN", "EFF", "EFU",
    };

    private static readonly HashSet<string> NonResidentKinds = new(StringComparer.Ordinal) { "NRA", "OSA" };

    private static readonly HashSet<Purpose> NegativeList =
        [Purpose.SecuritiesInvestment, Purpose.LoanNonAffiliate, Purpose.RealEstateNonSelfUse, Purpose.OutOfScope];

    private static readonly HashSet<Purpose> TaxFilingPurposes = [Purpose.ServiceTrade, Purpose.PrimaryIncome, Purpose.SecondaryIncome];

    private static readonly HashSet<Purpose> EffPurposes = [Purpose.Salary, Purpose.Medical, Purpose.Travel, Purpose.Living];

    private static readonly HashSet<Purpose> WhitelistPurposes =
        [Purpose.DirectInvestment, Purpose.CrossBorderFinancing, Purpose.OtherInvestment];

    private readonly RuleSettings _settings;
    private readonly List<Accepted> _history = [];
    private readonly List<Fired> _fired = [];
    private readonly Dictionary<string, int> _situations = new(StringComparer.Ordinal);
    private NaiveReference _reference;

    /// <param name="referenceJson">Reference data in force for the first record, as written (DESIGN.md §3.2).</param>
    /// <param name="settings">The rule settings the engine compared with it runs under.</param>
    public NaiveEngine(string referenceJson, RuleSettings settings)
    {
        _reference = NaiveReference.Parse(referenceJson);
        _settings = settings;
    }

    /// <summary>Accepted events that were late when they were processed.</summary>
    public int LateEvents => _history.Count(h => h.Late);

    public int AcceptedEvents => _history.Count;

    /// <summary>Payments carrying a field DESIGN.md §3.1 does not define, whatever became of them after.</summary>
    public int UnknownFieldPayments { get; private set; }

    /// <summary>
    /// How often each edge case the comparison is meant to reach occurred (late, out of order, silenced, a window
    /// edge, a boundary amount...), so a test can show that the generated streams really exercise them.
    /// </summary>
    public IReadOnlyDictionary<string, int> Situations => _situations;

    /// <summary>Accepted events summed per payments_minute key, written as text (sums at their smallest scale): the oracle of the aggregate rows.</summary>
    public IEnumerable<string> PaymentsMinuteTotals() => _history
        .GroupBy(h => (h.Event.EntityId, Minute: h.Event.Ts - h.Event.Ts % TimeSpan.TicksPerMinute, h.Event.Kind, h.Event.Channel, h.Event.Direction, h.Event.Currency))
        .Select(g => FormattableString.Invariant($"{g.Key} {g.Count()} {Plain(g.Sum(h => h.Event.Amount))} {Plain(g.Sum(h => h.Event.AmountCny))}"));

    /// <summary>Accepted events summed per corridor_minute key, written as text.</summary>
    public IEnumerable<string> CorridorMinuteTotals() => _history
        .GroupBy(h => (Minute: h.Event.Ts - h.Event.Ts % TimeSpan.TicksPerMinute, h.Event.Kind, h.Event.CpKind, Country: h.Event.CpCountry ?? "", h.Event.Currency, h.Event.Direction))
        .Select(g => FormattableString.Invariant($"{g.Key} {g.Count()} {Plain(g.Sum(h => h.Event.AmountCny))}"));

    /// <summary>
    /// A value at the smallest scale that holds it (12.50 → 12.5): amounts are compared as values, and how a record or
    /// the reference data wrote them (trailing zeros, exponents) does not show in a sum's text.
    /// </summary>
    public static decimal Plain(decimal value) => value / 1.0000000000000000000000000000m;

    /// <summary>Replaces the reference data, parameters included, for the records after this call (DESIGN.md §3.2).</summary>
    public void UpdateReference(string referenceJson)
    {
        var updated = NaiveReference.Parse(referenceJson);
        if (updated.UsdRate != _reference.UsdRate) Note("USD rate changed by reference data");
        _reference = updated;
    }

    /// <summary>Processes one record (event or control record); appends the alerts it raises in RULES.md §2 order.</summary>
    public RecordOutcome Process(byte[] record, long sequence, List<ComparableAlert> alerts)
    {
        if (NaiveRecords.ReadObject(record, out var control) is not { } root) return RecordOutcome.Rejected;
        if (control)
        {
            if (NaiveRecords.ReadControl(root, _reference.Parameters) is not { } parameters) return RecordOutcome.Rejected;
            if (parameters != _reference.Parameters) Note("parameters changed by a control record");
            _reference = _reference.WithParameters(parameters);
            return RecordOutcome.Control;
        }
        if (NaiveRecords.ReadPayment(root) is not { } payment) return RecordOutcome.Rejected;
        if (root.EnumerateObject().Any(field => !NaiveRecords.IsPaymentField(field.Name))) UnknownFieldPayments++;
        NoteHowWritten(root);
        // A payment whose id was accepted is a duplicate even when it does not resolve (any more).
        if (RepeatOf(payment) is { } repeat) return repeat;
        var e = Resolve(payment, sequence, _reference);
        if (e is null) return RecordOutcome.Rejected;

        var raised = new List<(string Rule, Severity Severity, Metrics Metrics)>();
        var accepted = Evaluate(e, raised);
        _history.Add(accepted);
        foreach (var (rule, severity, metrics) in raised.OrderBy(r => IndexOfRule(r.Rule)))
        {
            _fired.Add(new Fired(rule, e));
            alerts.Add(new ComparableAlert(
                e.Sequence, rule, severity, e.TxnId, AlertId(rule, e.TxnIdUtf8, e.Ts), e.EntityId, e.Account, e.Ts, e.OffsetMinutes,
                metrics.Direction ?? (e.Direction == Direction.In ? "IN" : "OUT"), metrics.Observed, metrics.Threshold,
                metrics.Count, metrics.Cap, metrics.Utilisation, metrics.Year, metrics.Day, metrics.Category, metrics.CurrencyClass, metrics.InflowCny,
                metrics.OutflowCny, metrics.DaysSincePreviousActivity));
        }
        return RecordOutcome.Accepted;
    }

    private Accepted Evaluate(OracleEvent e, List<(string Rule, Severity Severity, Metrics Metrics)> raised)
    {
        var reference = _reference;
        var parameters = reference.Parameters;
        reference.Entities.TryGetValue(e.EntityId, out var info);
        void Raise(string rule, Severity severity, Metrics? metrics = null) => raised.Add((rule, severity, metrics ?? new Metrics()));

        // Everything this entity did before e, in processing order.
        var mine = _history.Where(h => h.Event.EntityId == e.EntityId).ToList();
        long? newestBefore = mine.Count == 0 ? null : mine.Max(h => h.Event.Ts);
        var late = newestBefore is { } newest && e.Ts < newest - _settings.LateEventBound.Ticks;
        if (late) Note("late event");
        else if (e.Ts < newestBefore) Note("out-of-order event within the bound");
        if (e.Ts == newestBefore - _settings.LateEventBound.Ticks) Note("event exactly at the lateness bound");
        var local = ShanghaiLocal(e.Ts);
        if (local.TimeOfDay == TimeSpan.Zero) Note("event at 00:00 in Shanghai");
        if (local.TimeOfDay == TimeSpan.FromDays(1) - TimeSpan.FromTicks(1)) Note("event in the last tick of a Shanghai day");
        if (local is { Month: 2, Day: 29 }) Note("event on a leap day");
        var zone = ClassOf(e.Kind) == AccountClass.Zone;
        var cny = e.Currency == Cny;

        // RULES.md §2, in its order.
        if (zone && e.Method == PaymentMethod.Cash) Raise("CASH_ON_ZONE_ACCOUNT", Severity.II);
        if ((e.Channel is Channel.SecondLine or Channel.SecondLineSameName) && !cny) Raise("SECOND_LINE_NON_CNY", Severity.II);
        if (e.Kind == AccountKind.EFE && e.Channel == Channel.SecondLine && !(e.Purpose == Purpose.GoodsTrade && e.CustomsSpecial))
        {
            Raise("NON_SAME_NAME_NOT_GOODS", Severity.II);
        }
        if (e.Channel == Channel.SecondLineSameName && NegativeList.Contains(e.Purpose)) Raise("PENETRATION_NEGATIVE_LIST", Severity.II);

        // RULES.md §3: the position is every counted event of the entity in the Shanghai year of e.
        var countsForQuota = e.Channel == Channel.SecondLineSameName && cny && parameters.CountsForQuota(e.Kind);
        if (countsForQuota)
        {
            var year = ShanghaiYear(e.Ts);
            var before = mine.Where(h => h.CountsForQuota && ShanghaiYear(h.Event.Ts) == year).Sum(h => NetInflowOf(h.Event));
            var after = before + NetInflowOf(e);
            if (newestBefore is { } newestTs && year < ShanghaiYear(newestTs)) Note("penetration event for an earlier year");
            if (info?.OwnersEquityPrevYear is not { } equity)
            {
                Raise("PENETRATION_NO_QUOTA", Severity.II, new Metrics { Observed = after, Year = year });
            }
            else
            {
                // OUT (zone → domestic) raises net inflow N; IN raises net outflow −N. Only that direction can rise.
                var inflow = e.Direction == Direction.Out;
                var cap = equity * parameters.MacroPrudentialFactor * (inflow ? parameters.InflowLeverage : parameters.OutflowLeverage);
                var usedBefore = inflow ? before : -before;
                var usedAfter = inflow ? after : -after;
                var metrics = new Metrics
                {
                    Observed = usedAfter, Cap = cap, Utilisation = cap > 0 ? ShownUtilisation(usedAfter / cap) : null,
                    Direction = inflow ? "INFLOW" : "OUTFLOW", Year = year,
                };
                var warnAt = _settings.PenetrationWarnUtilisation * cap;
                if (cap == 0) Note("penetration cap of zero");
                if (usedAfter == cap || usedAfter == warnAt) Note("penetration position exactly at the cap or 80 %");
                if (usedAfter > cap)
                {
                    Raise("PENETRATION_CAP_BREACH", Severity.III, metrics with { Threshold = cap });
                }
                else if (cap > 0 && usedBefore < warnAt && usedAfter >= warnAt)
                {
                    if (_fired.Exists(f => f.Rule == "PENETRATION_CAP_WARN" && f.Event.EntityId == e.EntityId
                                           && f.Event.Direction == e.Direction && ShanghaiYear(f.Event.Ts) == year))
                    {
                        Note("penetration warning re-armed");
                    }
                    Raise("PENETRATION_CAP_WARN", Severity.I, metrics with { Threshold = warnAt });
                }
            }
        }

        if (e.Direction == Direction.Out && e.Channel != Channel.Domestic && TaxFilingPurposes.Contains(e.Purpose)
            && e.AmountUsd >= _settings.ServicesTaxFilingUsd)
        {
            Raise("SERVICES_TAX_FILING", Severity.I, new Metrics { Observed = e.AmountUsd, Threshold = _settings.ServicesTaxFilingUsd });
        }
        if (e.Kind == AccountKind.EFF && (!EffPurposes.Contains(e.Purpose) || !cny)) Raise("EFF_PURPOSE", Severity.II);
        if (IsSanctioned(e, info, reference)) Raise("SANCTIONED_PARTY", Severity.III);
        if (e.CpName is { } cpName && cpName.EnumerateRunes().Any(r => !r.IsBmp) && reference.SanctionedNames.Contains(NormalisedName(cpName)))
        {
            Note("sanctioned name written with characters beyond U+FFFF");
        }
        if (e.CpCountry is not null && reference.HighRiskCountries.TryGetValue(e.CpCountry, out var risk))
        {
            Raise("HIGH_RISK_JURISDICTION", risk == "CALL_FOR_ACTION" ? Severity.II : Severity.I);
        }
        if ((zone || e.Kind == AccountKind.NRA) && WhitelistPurposes.Contains(e.Purpose) && cny && parameters.WhitelistRequired
            && info is not { Whitelisted: true })
        {
            Raise("WHITELIST_REQUIRED", Severity.II);
        }

        // RULES.md §4 with the retention of SEMANTICS.md: days older than the kept ones are not accumulated.
        var newestWithE = Math.Max(newestBefore ?? e.Ts, e.Ts);
        var day = ShanghaiDay(e.Ts);
        var threshold = Threshold(e.Category, e.CurrencyClass);
        if (day < ShanghaiDay(newestWithE) - _settings.LargeValueRetentionDays)
        {
            Note("day older than the accumulators kept");
        }
        else
        {
            // Exact: the CNY-equivalents summed in processing order and compared with threshold × the class's rate (1,
            // or the USD rate in force). When the USD rate changed since the events before, the sum so far is revalued
            // at the new rate, keeping its USD-equivalent. Once reached, the accumulator counts nothing more that day.
            var sum = 0m;
            var sumRate = 0m;
            var reached = false;
            void Add(OracleEvent x)
            {
                var rateOfX = x.CurrencyClass == CurrencyClass.Cny ? 1m : x.UsdRate;
                if (sumRate != 0 && sumRate != rateOfX) sum = sum / sumRate * rateOfX;
                sumRate = rateOfX;
                sum += x.AmountCny;
            }
            foreach (var h in mine.Where((h, i) => ShanghaiDay(h.Event.Ts) == day && SameKey(h.Event, e) && WasAccumulated(mine, i)))
            {
                if (reached) break;
                Add(h.Event);
                reached = sum >= threshold * sumRate;
            }
            var rate = e.CurrencyClass == CurrencyClass.Cny ? 1m : e.UsdRate;
            if (!reached && sumRate != 0 && sumRate != rate) Note("accumulator revalued at a new USD rate");
            if (!reached) Add(e);
            var after = sum / rate;
            if (!reached && sum == threshold * rate) Note("accumulator exactly at its threshold");
            if (!reached && sum >= threshold * rate)
            {
                Raise("LARGE_VALUE_REPORT", Severity.I, new Metrics
                {
                    Observed = after, Threshold = threshold, Category = CategoryName(e.Category), CurrencyClass = ClassName(e.CurrencyClass),
                    Day = ShanghaiDate(e.Ts).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                });
            }
        }

        // RULES.md §5 window rules: not for late events. The window is the entity's earlier non-late events with
        // time in (ts − 24h, ts], plus e; in event-time order, ties in processing order, which is the order sums are
        // added in (USD-equivalents have 28 significant digits, so a sum of them depends on its order).
        if (!late)
        {
            if (mine.Exists(h => !h.Late && h.Event.Ts == e.Ts - _settings.TrailingWindow.Ticks)) Note("an event exactly 24h earlier");
            var window = mine
                .Where(h => !h.Late && h.Event.Ts > e.Ts - _settings.TrailingWindow.Ticks && h.Event.Ts <= e.Ts)
                .Select(h => h.Event)
                .Append(e)
                .OrderBy(x => x.Ts)
                .ToList();

            var bandLow = threshold * _settings.StructuringBandFraction;
            bool InBand(OracleEvent x) => SameKey(x, e) && x.ClassAmount >= bandLow && x.ClassAmount < threshold;
            if (e.ClassAmount == bandLow) Note("amount exactly at the band floor");
            if (InBand(e))
            {
                var band = window.Where(InBand).ToList();
                var sum = band.Sum(x => x.ClassAmount);
                if (band.Count >= _settings.StructuringMinCount && sum >= threshold
                    && !Silenced("STRUCTURING", e, fired => SameKey(fired, e)))
                {
                    Raise("STRUCTURING", Severity.II, new Metrics
                    {
                        Count = band.Count, Observed = sum, Threshold = threshold, Category = CategoryName(e.Category), CurrencyClass = ClassName(e.CurrencyClass),
                    });
                }
            }

            if (e.Direction == Direction.Out)
            {
                var in24 = window.Where(x => x.Direction == Direction.In).Sum(x => x.AmountCny);
                var out24 = window.Where(x => x.Direction == Direction.Out).Sum(x => x.AmountCny);
                if (in24 >= _settings.RapidPassThroughMinInflowCny && out24 >= _settings.RapidPassThroughOutflowRatio * in24
                    && !Silenced("RAPID_PASS_THROUGH", e, _ => true))
                {
                    Raise("RAPID_PASS_THROUGH", Severity.II, new Metrics
                    {
                        InflowCny = in24, OutflowCny = out24, Observed = out24, Threshold = _settings.RapidPassThroughOutflowRatio * in24,
                    });
                }
            }

            if (e.CpAccount is not null)
            {
                var rule = e.Direction == Direction.In ? "FAN_IN" : "FAN_OUT";
                var distinct = window
                    .Where(x => x.Direction == e.Direction && x.CpAccount is not null)
                    .Select(x => x.CpAccount)
                    .Distinct(StringComparer.Ordinal)
                    .Count();
                if (distinct >= _settings.FanDistinctCounterparties && !Silenced(rule, e, _ => true))
                {
                    Raise(rule, Severity.I, new Metrics
                    {
                        Count = distinct, Observed = distinct, Threshold = _settings.FanDistinctCounterparties, Direction = e.Direction == Direction.In ? "IN" : "OUT",
                    });
                }
            }
        }

        // By event time: the newest earlier-processed event at or before e, else lastActivity; a late event (which joins
        // no window) against the newest event so far.
        var previousActivity = late ? newestBefore
            : mine.Where(h => h.Event.Ts <= e.Ts).Select(h => (long?)h.Event.Ts).Max() ?? info?.LastActivityTicks;
        if (!late && e.Ts < newestBefore && previousActivity is { } earlier && e.Ts - earlier >= _settings.DormantDays * TimeSpan.TicksPerDay)
        {
            Note("dormant by event time, arriving after a later event");
        }
        if (e.Ts - previousActivity == _settings.DormantDays * TimeSpan.TicksPerDay) Note("exactly the dormancy period since the previous activity");
        if (previousActivity is { } previous && e.Ts - previous >= _settings.DormantDays * TimeSpan.TicksPerDay
            && e.AmountCny >= _settings.DormantMinAmountCny)
        {
            Note(newestBefore is null ? "dormant since the reference lastActivity" : "dormant since the entity's last event");
            var days = decimal.Round((decimal)(e.Ts - previous) / TimeSpan.TicksPerDay, 4);
            Raise("DORMANT_REACTIVATION", Severity.I, new Metrics
            {
                DaysSincePreviousActivity = days, Threshold = _settings.DormantDays, Observed = days,
            });
        }

        return new Accepted(e, late, countsForQuota);
    }

    /// <summary>A utilisation to 6 decimals on the same side of the cap as the exact one: down below it, up beyond it.</summary>
    private static decimal ShownUtilisation(decimal ratio) =>
        (ratio > 1 ? Math.Ceiling(ratio * 1_000_000m) : Math.Floor(ratio * 1_000_000m)) / 1_000_000m;

    /// <summary>
    /// SEMANTICS.md: a repeat of an accepted <c>txnId</c> is a duplicate. With <c>DuplicateHorizonDays</c> = N &gt; 0
    /// an id is forgotten once the newest event is more than N Shanghai days past the day of the event that carried it.
    /// A duplicate that says something else than the payment last accepted with its id, as written (its time taken as an
    /// instant, in whatever offset), is a differing one. Null when the payment repeats no remembered id.
    /// </summary>
    private RecordOutcome? RepeatOf(NaivePayment payment)
    {
        var carriers = _history.Where(h => h.Event.TxnId == payment.TxnId).ToList();
        if (carriers.Count == 0) return null;
        var horizon = _settings.DuplicateHorizonDays;
        if (horizon > 0)
        {
            var newestDay = ShanghaiDay(_history.Max(h => h.Event.Ts));
            if (!carriers.Exists(h => newestDay - ShanghaiDay(h.Event.Ts) <= horizon))
            {
                Note("repeat of a forgotten txnId");
                return null;
            }
        }
        var accepted = carriers[^1].Event.Given;
        if (accepted with { OffsetMinutes = 0 } == payment with { OffsetMinutes = 0 })
        {
            if (accepted != payment) Note("redelivery written in another offset");
            return RecordOutcome.Duplicate;
        }
        return RecordOutcome.DifferingDuplicate;
    }

    /// <summary>Whether the h-th event of an entity's history went into its daily accumulator when it was processed.</summary>
    private bool WasAccumulated(List<Accepted> entityHistory, int index)
    {
        var newestThen = entityHistory.Take(index + 1).Max(h => h.Event.Ts);
        return ShanghaiDay(entityHistory[index].Event.Ts) >= ShanghaiDay(newestThen) - _settings.LargeValueRetentionDays;
    }

    /// <summary>"Then silent for 24h": some earlier alert of the rule for the same entity and key, fired at t, with ts(e) &lt; t + 24h.</summary>
    private bool Silenced(string rule, OracleEvent e, Func<OracleEvent, bool> sameKey)
    {
        var silencing = _fired.Where(f => f.Rule == rule && f.Event.EntityId == e.EntityId && sameKey(f.Event)
                                          && e.Ts < f.Event.Ts + _settings.Suppression.Ticks).ToList();
        if (silencing.Count == 0) return false;
        Note("silenced " + rule);
        if (silencing.Exists(f => e.Ts < f.Event.Ts)) Note("silenced by a firing later in event time");
        return true;
    }

    /// <summary>Notes the ways of writing a payment's values that the comparison is meant to reach.</summary>
    private void NoteHowWritten(JsonElement payment)
    {
        var ts = payment.GetProperty("ts").GetString()!;
        var offset = ts.EndsWith('Z') ? "Z" : ts[^6..];
        if (offset is not ("Z" or "+08:00")) Note("ts with an offset other than Z and +08:00");
        if (ts.Length > 19 && ts[19] == '.' && ts.Length - 20 - (offset == "Z" ? 1 : 6) > 7) Note("ts with fraction digits past the seventh");
        var amount = payment.GetProperty("amount");
        var text = amount.ValueKind == JsonValueKind.String ? amount.GetString()! : amount.GetRawText();
        if (text.Contains('e', StringComparison.OrdinalIgnoreCase)) Note("amount written with an exponent");
        else if (text.Contains('.', StringComparison.Ordinal) && text.EndsWith('0')) Note("amount written with zeros after its last decimal");
    }

    private void Note(string situation) => _situations[situation] = _situations.GetValueOrDefault(situation) + 1;

    /// <summary>RULES.md §4's threshold of a category and currency class, from the settings that hold them.</summary>
    private decimal Threshold(LargeValueCategory category, CurrencyClass currencyClass)
    {
        var t = _settings.LargeValue;
        var cny = currencyClass == CurrencyClass.Cny;
        return category switch
        {
            LargeValueCategory.Cash => cny ? t.CashCny : t.CashUsd,
            LargeValueCategory.NonIndividualTransfer => cny ? t.NonIndividualTransferCny : t.NonIndividualTransferUsd,
            LargeValueCategory.IndividualDomestic => cny ? t.IndividualDomesticCny : t.IndividualDomesticUsd,
            _ => cny ? t.IndividualCrossBorderCny : t.IndividualCrossBorderUsd,
        };
    }

    /// <summary>RULES.md §4's name of a large-value category, as alerts carry it.</summary>
    private static string CategoryName(LargeValueCategory category) => category switch
    {
        LargeValueCategory.Cash => "CASH",
        LargeValueCategory.NonIndividualTransfer => "NON_INDIVIDUAL_TRANSFER",
        LargeValueCategory.IndividualDomestic => "INDIVIDUAL_DOMESTIC",
        _ => "INDIVIDUAL_CROSS_BORDER",
    };

    private static string ClassName(CurrencyClass currencyClass) => currencyClass == CurrencyClass.Cny ? "CNY" : "FX";

    private static bool SameKey(OracleEvent a, OracleEvent b) =>
        a.Direction == b.Direction && a.Category == b.Category && a.CurrencyClass == b.CurrencyClass;

    private static decimal NetInflowOf(OracleEvent e) => e.Direction == Direction.Out ? e.Amount : -e.Amount;

    private static bool IsSanctioned(OracleEvent e, NaiveEntity? info, NaiveReference reference)
    {
        if (info is { Sanctioned: true }) return true;
        if (e.CpEntityId is not null && reference.Entities.TryGetValue(e.CpEntityId, out var counterparty) && counterparty.Sanctioned) return true;
        // SEMANTICS.md "Resolution": an account reference data gives to a sanctioned entity involves it, whoever the event names.
        if (OwnerIsSanctioned(e.Account, e.EntityId) || OwnerIsSanctioned(e.CpAccount, e.CpEntityId)) return true;
        return e.CpName is not null && reference.SanctionedNames.Contains(NormalisedName(e.CpName));

        bool OwnerIsSanctioned(string? account, string? named) =>
            account is not null && reference.Accounts.TryGetValue(account, out var listed) && listed.EntityId != named
            && reference.Entities.TryGetValue(listed.EntityId, out var owner) && owner.Sanctioned;
    }

    /// <summary>
    /// RULES.md §2 and SEMANTICS.md "Names", written out again: NFKC, upper case (ß and ẞ as SS), every punctuation mark,
    /// invisible format character and other default-ignorable code point (by code point) removed, whitespace and the
    /// characters drawn as a blank (Hangul fillers, the blank Braille pattern) as spaces, runs of them made one space, no
    /// space at either end.
    /// </summary>
    internal static string NormalisedName(string name)
    {
        var kept = name.Normalize(NormalizationForm.FormKC).ToUpperInvariant().Replace("ß", "SS", StringComparison.Ordinal)
            .Replace("ẞ", "SS", StringComparison.Ordinal).EnumerateRunes()
            .Select(r => Rune.IsWhiteSpace(r) || DrawnAsABlank.Contains(r.Value) ? " "
                : Rune.GetUnicodeCategory(r) is >= UnicodeCategory.ConnectorPunctuation and <= UnicodeCategory.OtherPunctuation
                    or UnicodeCategory.Format || IsOtherDefaultIgnorable(r.Value) ? ""
                : r.ToString());
        return string.Join(' ', string.Concat(kept).Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }

    private static readonly int[] DrawnAsABlank = [0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800];

    /// <summary>DerivedCoreProperties.txt's Default_Ignorable_Code_Point, less the format characters and the fillers.</summary>
    private static bool IsOtherDefaultIgnorable(int c) =>
        c == 0x034F || c is >= 0x17B4 and <= 0x17B5 || c is >= 0x180B and <= 0x180F || c == 0x2065
        || c is >= 0xFE00 and <= 0xFE0F || c is >= 0xFFF0 and <= 0xFFF8 || c is >= 0xE0000 and <= 0xE0FFF;

    /// <summary>RULES.md §1 and SEMANTICS.md "Resolution", written out again from the documents.</summary>
    private static OracleEvent? Resolve(NaivePayment d, long sequence, NaiveReference reference)
    {
        var isListed = reference.Accounts.TryGetValue(d.Account, out var listed);
        var kind = d.AccountKind ?? (isListed ? listed.Kind : KindOfPrefix(d.Account));
        if (kind == AccountKind.None) return null;
        var entityId = d.EntityId ?? (isListed ? listed.EntityId : null);
        if (entityId is null) return null;
        var cpEntityId = d.CpEntityId;
        if (cpEntityId is null && d.CpAccount is not null && reference.Accounts.TryGetValue(d.CpAccount, out var cpListed))
        {
            cpEntityId = cpListed.EntityId;
        }
        decimal rate;
        if (d.Currency == Cny) rate = 1m;
        else if (!reference.FxRates.TryGetValue(d.Currency, out rate)) return null;
        var accountClass = ClassOf(kind);
        if (accountClass == AccountClass.Offshore) return null;

        var cpClass = ClassOf(d.CpKind);
        Channel channel;
        if (accountClass == AccountClass.Zone)
        {
            channel = cpClass != AccountClass.Domestic ? Channel.FirstLine
                : cpEntityId == entityId ? Channel.SecondLineSameName
                : Channel.SecondLine;
        }
        else
        {
            channel = accountClass == AccountClass.Domestic && cpClass == AccountClass.Domestic ? Channel.Domestic : Channel.CrossBorder;
        }

        CustomerType customerType;
        if (reference.Entities.TryGetValue(entityId, out var entity) && entity.Type is { } listedType) customerType = listedType;
        else if (kind is AccountKind.FTI or AccountKind.FTF or AccountKind.EFF) customerType = CustomerType.Individual;
        else if (kind is AccountKind.FTU or AccountKind.EFU) customerType = CustomerType.FinancialInstitution;
        else customerType = CustomerType.Corporate;

        LargeValueCategory category;
        if (d.Method == PaymentMethod.Cash) category = LargeValueCategory.Cash;
        else if (customerType is CustomerType.Corporate or CustomerType.FinancialInstitution) category = LargeValueCategory.NonIndividualTransfer;
        else if (channel == Channel.Domestic) category = LargeValueCategory.IndividualDomestic;
        else category = LargeValueCategory.IndividualCrossBorder;

        var amountCny = d.Amount * rate;
        return new OracleEvent
        {
            Sequence = sequence,
            Given = d,
            TxnIdUtf8 = Encoding.UTF8.GetBytes(d.TxnId),
            TxnId = d.TxnId,
            Ts = d.Ts,
            OffsetMinutes = d.OffsetMinutes,
            Account = d.Account,
            Kind = kind,
            EntityId = entityId,
            Direction = d.Direction,
            Amount = d.Amount,
            Currency = d.Currency,
            CpAccount = d.CpAccount,
            CpEntityId = cpEntityId,
            CpName = d.CpName,
            CpCountry = d.CpCountry,
            CpKind = d.CpKind,
            Purpose = d.Purpose,
            Method = d.Method,
            CustomsSpecial = d.CustomsSpecial,
            Channel = channel,
            Category = category,
            CurrencyClass = d.Currency == Cny ? CurrencyClass.Cny : CurrencyClass.Fx,
            AmountCny = amountCny,
            AmountUsd = amountCny / reference.UsdRate,
            UsdRate = reference.UsdRate,
        };
    }

    private static AccountClass ClassOf(AccountKind kind)
    {
        var name = kind.ToString();
        if (ZoneKinds.Contains(name)) return AccountClass.Zone;
        if (NonResidentKinds.Contains(name)) return AccountClass.NonResident;
        return kind == AccountKind.OFFSHORE ? AccountClass.Offshore : AccountClass.Domestic;
    }

    private static AccountKind KindOfPrefix(string account)
    {
        if (account.Length < 3) return AccountKind.None;
        var prefix = account[..3];
        return (ZoneKinds.Contains(prefix) || NonResidentKinds.Contains(prefix)) && Enum.TryParse<AccountKind>(prefix, out var kind)
            ? kind
            : AccountKind.None;
    }

    private static DateTime ShanghaiLocal(long utcTicks) =>
        new DateTimeOffset(utcTicks, TimeSpan.Zero).ToOffset(TimeSpan.FromHours(8)).DateTime;

    private static int ShanghaiYear(long utcTicks) => ShanghaiLocal(utcTicks).Year;

    private static DateOnly ShanghaiDate(long utcTicks) => DateOnly.FromDateTime(ShanghaiLocal(utcTicks));

    private static int ShanghaiDay(long utcTicks) => ShanghaiDate(utcTicks).DayNumber;

    /// <summary>The codes of RULES.md §2's table, in its order: the order of one event's alerts.</summary>
    private static readonly string[] RuleTable =
    [
        "CASH_ON_ZONE_ACCOUNT", "SECOND_LINE_NON_CNY", "NON_SAME_NAME_NOT_GOODS", "PENETRATION_NEGATIVE_LIST",
        "PENETRATION_CAP_WARN", "PENETRATION_CAP_BREACH", "PENETRATION_NO_QUOTA", "SERVICES_TAX_FILING", "EFF_PURPOSE",
        "SANCTIONED_PARTY", "HIGH_RISK_JURISDICTION", "WHITELIST_REQUIRED", "LARGE_VALUE_REPORT", "STRUCTURING",
        "RAPID_PASS_THROUGH", "FAN_IN", "FAN_OUT", "DORMANT_REACTIVATION",
    ];

    private static int IndexOfRule(string rule)
    {
        var index = Array.IndexOf(RuleTable, rule);
        return index >= 0 ? index : throw new ArgumentException($"unknown rule {rule}", nameof(rule));
    }

    /// <summary>SEMANTICS.md: XXH128 of the UTF-8 bytes of "rule|txnId|time" (UTC, 7 decimals), as 32 lower-case hex digits.</summary>
    private static string AlertId(string rule, byte[] txnIdUtf8, long utcTicks)
    {
        var time = new DateTimeOffset(utcTicks, TimeSpan.Zero).ToString("yyyy-MM-ddTHH:mm:ss.fffffff", CultureInfo.InvariantCulture) + "Z";
        var input = Encoding.UTF8.GetBytes(rule + "|").Concat(txnIdUtf8).Concat(Encoding.UTF8.GetBytes("|" + time)).ToArray();
        return XxHash128.HashToUInt128(input).ToString("x32", CultureInfo.InvariantCulture);
    }

    private sealed record Accepted(OracleEvent Event, bool Late, bool CountsForQuota);

    private sealed record Fired(string Rule, OracleEvent Event);

    private sealed record Metrics
    {
        public decimal? Observed { get; init; }
        public decimal? Threshold { get; init; }
        public int? Count { get; init; }
        public decimal? Cap { get; init; }
        public decimal? Utilisation { get; init; }
        public int? Year { get; init; }
        public string? Day { get; init; }
        public string? Category { get; init; }
        public string? CurrencyClass { get; init; }
        public decimal? InflowCny { get; init; }
        public decimal? OutflowCny { get; init; }
        public decimal? DaysSincePreviousActivity { get; init; }
        public string? Direction { get; init; }
    }

    /// <summary>A decoded event with what RULES.md §1 derives from it, as the oracle resolved it.</summary>
    private sealed class OracleEvent
    {
        public required long Sequence { get; init; }

        /// <summary>The payment as it was written.</summary>
        public required NaivePayment Given { get; init; }
        public required byte[] TxnIdUtf8 { get; init; }
        public required string TxnId { get; init; }
        public required long Ts { get; init; }
        public required int OffsetMinutes { get; init; }
        public required string Account { get; init; }
        public required AccountKind Kind { get; init; }
        public required string EntityId { get; init; }
        public required Direction Direction { get; init; }
        public required decimal Amount { get; init; }
        public required string Currency { get; init; }
        public required string? CpAccount { get; init; }
        public required string? CpEntityId { get; init; }
        public required string? CpName { get; init; }
        public required string? CpCountry { get; init; }
        public required AccountKind CpKind { get; init; }
        public required Purpose Purpose { get; init; }
        public required PaymentMethod Method { get; init; }
        public required bool CustomsSpecial { get; init; }
        public required Channel Channel { get; init; }
        public required LargeValueCategory Category { get; init; }
        public required CurrencyClass CurrencyClass { get; init; }
        public required decimal AmountCny { get; init; }
        public required decimal AmountUsd { get; init; }
        public required decimal UsdRate { get; init; }

        /// <summary>CNY for CNY events, USD-equivalent otherwise (RULES.md §4).</summary>
        public decimal ClassAmount => CurrencyClass == CurrencyClass.Cny ? Amount : AmountUsd;
    }
}
