namespace FlowWatch.Core.Contracts;

/// <summary>Direction from the monitored account's side: IN credits it, OUT debits it.</summary>
public enum Direction : byte
{
    In = 0,
    Out = 1,
}

public static class Directions
{
    public static string Code(Direction direction) => direction == Direction.In ? "IN" : "OUT";
}

public enum PaymentMethod : byte
{
    Transfer = 0,
    Cash = 1,
}

/// <summary>Channel of a payment between the monitored account and its counterparty (RULES.md §1).</summary>
public enum Channel : byte
{
    FirstLine,
    SecondLineSameName,
    SecondLine,
    CrossBorder,
    Domestic,
}

public enum CustomerType : byte
{
    Corporate,
    FinancialInstitution,
    Individual,
}

/// <summary>Severity after Tianjin Art.37: I mild, II moderate, III severe.</summary>
public enum Severity : byte
{
    I = 1,
    II = 2,
    III = 3,
}

/// <summary>Purpose codes of DESIGN.md §3.1. Unknown codes count as <see cref="Other"/>.</summary>
public enum Purpose : byte
{
    Other = 0,
    GoodsTrade,
    ServiceTrade,
    PrimaryIncome,
    SecondaryIncome,
    Salary,
    Medical,
    Travel,
    Living,
    DirectInvestment,
    CrossBorderFinancing,
    OtherInvestment,
    SecuritiesInvestment,
    Loan,
    LoanNonAffiliate,
    RealEstateSelfUse,
    RealEstateNonSelfUse,
    OutOfScope,
    Interbank,
}

/// <summary>Risk level of a jurisdiction in reference <c>highRiskCountries</c> (FATF lists).</summary>
public enum JurisdictionRisk : byte
{
    IncreasedMonitoring,
    CallForAction,
}

/// <summary>Large-value report category (PBOC Order [2016] No.3 Art.5; RULES.md §4).</summary>
public enum LargeValueCategory : byte
{
    Cash = 0,
    NonIndividualTransfer = 1,
    IndividualDomestic = 2,
    IndividualCrossBorder = 3,
}

/// <summary>CNY sums CNY amounts; FX sums USD-equivalents of every other currency (RULES.md §4).</summary>
public enum CurrencyClass : byte
{
    Cny = 0,
    Fx = 1,
}

public static class Purposes
{
    private const int LongestCode = 24;

    /// <summary>
    /// Maps a purpose code (UTF-8); anything unknown is OTHER, as DESIGN.md §3.1 says. A known code written otherwise
    /// (in other letter case, with spaces around it, or words joined by a hyphen or a space) is that code, not an
    /// unknown one: as OTHER, a <c>direct_investment</c> would pass WHITELIST_REQUIRED unseen, and a
    /// <c>SECURITIES-INVESTMENT</c> NEGATIVE_LIST.
    /// </summary>
    public static Purpose Parse(ReadOnlySpan<byte> code)
    {
        var purpose = ParseExact(code);
        if (purpose != Purpose.Other) return purpose;
        code = code.Trim(" \t"u8);
        if (code.Length > LongestCode) return Purpose.Other;
        Span<byte> canonical = stackalloc byte[LongestCode];
        if (System.Text.Ascii.ToUpper(code, canonical, out var written) != System.Buffers.OperationStatus.Done) return Purpose.Other;
        canonical = canonical[..written];
        canonical.Replace((byte)'-', (byte)'_');
        canonical.Replace((byte)' ', (byte)'_');
        return ParseExact(canonical);
    }

    private static Purpose ParseExact(ReadOnlySpan<byte> code) => code.Length switch
    {
        // By length first: a payment names its purpose on nearly every record, and most codes differ in length.
        4 when code.SequenceEqual("LOAN"u8) => Purpose.Loan,
        6 when code.SequenceEqual("SALARY"u8) => Purpose.Salary,
        6 when code.SequenceEqual("TRAVEL"u8) => Purpose.Travel,
        6 when code.SequenceEqual("LIVING"u8) => Purpose.Living,
        7 when code.SequenceEqual("MEDICAL"u8) => Purpose.Medical,
        9 when code.SequenceEqual("INTERBANK"u8) => Purpose.Interbank,
        11 when code.SequenceEqual("GOODS_TRADE"u8) => Purpose.GoodsTrade,
        12 when code.SequenceEqual("OUT_OF_SCOPE"u8) => Purpose.OutOfScope,
        13 when code.SequenceEqual("SERVICE_TRADE"u8) => Purpose.ServiceTrade,
        14 when code.SequenceEqual("PRIMARY_INCOME"u8) => Purpose.PrimaryIncome,
        16 when code.SequenceEqual("SECONDARY_INCOME"u8) => Purpose.SecondaryIncome,
        16 when code.SequenceEqual("OTHER_INVESTMENT"u8) => Purpose.OtherInvestment,
        17 when code.SequenceEqual("DIRECT_INVESTMENT"u8) => Purpose.DirectInvestment,
        18 when code.SequenceEqual("LOAN_NON_AFFILIATE"u8) => Purpose.LoanNonAffiliate,
        20 when code.SequenceEqual("REAL_ESTATE_SELF_USE"u8) => Purpose.RealEstateSelfUse,
        21 when code.SequenceEqual("SECURITIES_INVESTMENT"u8) => Purpose.SecuritiesInvestment,
        22 when code.SequenceEqual("CROSS_BORDER_FINANCING"u8) => Purpose.CrossBorderFinancing,
        24 when code.SequenceEqual("REAL_ESTATE_NON_SELF_USE"u8) => Purpose.RealEstateNonSelfUse,
        _ => Purpose.Other,
    };

    /// <summary>The wire code of a purpose.</summary>
    public static string Code(Purpose purpose) => purpose switch
    {
        Purpose.GoodsTrade => "GOODS_TRADE",
        Purpose.ServiceTrade => "SERVICE_TRADE",
        Purpose.PrimaryIncome => "PRIMARY_INCOME",
        Purpose.SecondaryIncome => "SECONDARY_INCOME",
        Purpose.Salary => "SALARY",
        Purpose.Medical => "MEDICAL",
        Purpose.Travel => "TRAVEL",
        Purpose.Living => "LIVING",
        Purpose.DirectInvestment => "DIRECT_INVESTMENT",
        Purpose.CrossBorderFinancing => "CROSS_BORDER_FINANCING",
        Purpose.OtherInvestment => "OTHER_INVESTMENT",
        Purpose.SecuritiesInvestment => "SECURITIES_INVESTMENT",
        Purpose.Loan => "LOAN",
        Purpose.LoanNonAffiliate => "LOAN_NON_AFFILIATE",
        Purpose.RealEstateSelfUse => "REAL_ESTATE_SELF_USE",
        Purpose.RealEstateNonSelfUse => "REAL_ESTATE_NON_SELF_USE",
        Purpose.OutOfScope => "OUT_OF_SCOPE",
        Purpose.Interbank => "INTERBANK",
        _ => "OTHER",
    };
}
