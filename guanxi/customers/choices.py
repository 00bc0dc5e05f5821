"""Choice lists of the customer database (DOMAIN.md section 1)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CustomerKind(models.TextChoices):
    PERSON = "person", _("Person")
    ORGANIZATION = "organization", _("Organization")


class Market(models.TextChoices):
    CONSUMER = "consumer", _("Consumer market")
    INDUSTRIAL = "industrial", _("Industrial market")
    ORGANIZATIONAL = "organizational", _("Organizational market")


class BuyerMotive(models.TextChoices):
    CONSUMER = "consumer", _("Consumer buyer (own use)")
    MANUFACTURING = "manufacturing", _("Manufacturing buyer (transforms)")
    TRADING = "trading", _("Trading buyer (resells)")
    REPRESENTATIVE = "representative", _("Representative buyer (buys for others)")


class AgeBand(models.TextChoices):
    UNDER_25 = "under_25", _("Under 25")
    AGE_25_34 = "25_34", _("25-34")
    AGE_35_44 = "35_44", _("35-44")
    AGE_45_54 = "45_54", _("45-54")
    AGE_55_64 = "55_64", _("55-64")
    AGE_65_PLUS = "65_plus", _("65 and over")


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other")


class IncomeBand(models.TextChoices):
    LOW = "low", _("Low")
    LOWER_MIDDLE = "lower_middle", _("Lower middle")
    MIDDLE = "middle", _("Middle")
    UPPER_MIDDLE = "upper_middle", _("Upper middle")
    HIGH = "high", _("High")


class Education(models.TextChoices):
    SECONDARY = "secondary", _("Secondary school")
    VOCATIONAL = "vocational", _("Vocational")
    BACHELOR = "bachelor", _("Bachelor")
    MASTER = "master", _("Master")
    DOCTORATE = "doctorate", _("Doctorate")


class OrgSize(models.TextChoices):
    MICRO = "micro", _("Micro (under 10)")
    SMALL = "small", _("Small (10-99)")
    MEDIUM = "medium", _("Medium (100-999)")
    LARGE = "large", _("Large (1000+)")


class Ownership(models.TextChoices):
    PRIVATE = "private", _("Private")
    STATE = "state", _("State-owned")
    FOREIGN = "foreign", _("Foreign-invested")
    JOINT_VENTURE = "joint_venture", _("Joint venture")
    PUBLIC = "public", _("Public institution")
    NON_PROFIT = "non_profit", _("Non-profit")


class FinancialStrength(models.TextChoices):
    WEAK = "weak", _("Weak")
    MODERATE = "moderate", _("Moderate")
    STRONG = "strong", _("Strong")


class Assessment(models.TextChoices):
    """One MAN criterion: assessed yes, assessed no, or not assessed yet."""

    UNKNOWN = "unknown", _("Not assessed")
    YES = "yes", _("Yes")
    NO = "no", _("No")


class QualificationStatus(models.TextChoices):
    UNASSESSED = "unassessed", _("Not assessed")
    PARTIAL = "partial", _("Partly qualified")
    QUALIFIED = "qualified", _("Qualified")
    DISQUALIFIED = "disqualified", _("Disqualified")


class CreditRating(models.TextChoices):
    AAA = "AAA", "AAA"
    AA = "AA", "AA"
    A = "A", "A"
    BBB = "BBB", "BBB"
    BB = "BB", "BB"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"


class Source(models.TextChoices):
    REFERRAL = "referral", _("Referral")
    WEBSITE = "website", _("Website")
    EVENT = "event", _("Event or trade show")
    COLD_CALL = "cold_call", _("Cold call")
    ADVERTISING = "advertising", _("Advertising")
    PARTNER = "partner", _("Partner or distributor")
    SOCIAL = "social", _("Social media")
    WALK_IN = "walk_in", _("Walk-in")
    IMPORT = "import", _("Import")
    OTHER = "other", _("Other")


class ConsentChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    PHONE = "phone", _("Phone")


class ConsentMethod(models.TextChoices):
    WEB_FORM = "web_form", _("Web form")
    WRITTEN = "written", _("Written")
    VERBAL = "verbal", _("Verbal")
    EMAIL_REPLY = "email_reply", _("Email reply")
    IMPORT = "import", _("Import")


class BuyingRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("Decision maker")
    INFLUENCER = "influencer", _("Influencer")
    USER = "user", _("User")
    GATEKEEPER = "gatekeeper", _("Gatekeeper")
    COACH = "coach", _("Coach / champion")
    UNKNOWN = "unknown", _("Unknown")


class Stance(models.TextChoices):
    SUPPORTER = "supporter", _("Supporter")
    NEUTRAL = "neutral", _("Neutral")
    OPPONENT = "opponent", _("Opponent")
    UNKNOWN = "unknown", _("Unknown")


class CustomFieldType(models.TextChoices):
    TEXT = "text", _("Text")
    INTEGER = "integer", _("Whole number")
    DECIMAL = "decimal", _("Decimal number")
    DATE = "date", _("Date")
    BOOLEAN = "boolean", _("Yes/no")
    CHOICE = "choice", _("Choice")
