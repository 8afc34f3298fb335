"""All models, re-exported so Alembic and the app see one metadata."""
from app.models.alerts import (
    AlertDelivery,
    AlertEvent,
    AlertRule,
    AlertRuleState,
    AlertTemplate,
    NotificationSettings,
)
from app.models.audit import AuditEvent
from app.models.billing import Subscription
from app.models.help import HelpArticle, HelpVote, WalkthroughProgress
from app.models.jobs import JobRun
from app.models.learn import LearningPath, Lesson, LessonProgress, QuizAttempt, QuizQuestion
from app.models.market import Bar, ProxyEndpoint, ScanRun, Snapshot, Stock, StockIndicator
from app.models.paper import EquitySnapshot, Fill, Order, PaperAccount, Position, Trade
from app.models.screener import SavedScreen, ScreenMembership, Watchlist, WatchlistItem
from app.models.strategies import Backtest, LeaderboardEntry, Strategy, StrategyRating, StrategyView
from app.models.user import BackupCode, OAuthIdentity, TwoFactor, User

__all__ = ["AlertDelivery", "AlertEvent", "AlertRule", "AlertRuleState", "AlertTemplate", "NotificationSettings",
           "AuditEvent", "Backtest", "EquitySnapshot", "Fill", "LeaderboardEntry", "Order", "PaperAccount",
           "Position", "Trade", "BackupCode", "Bar", "JobRun", "ProxyEndpoint", "SavedScreen", "ScreenMembership",
           "Strategy", "StrategyRating", "StrategyView", "Watchlist", "WatchlistItem", "ScanRun", "Snapshot", "Stock",
           "StockIndicator", "OAuthIdentity", "Subscription", "TwoFactor", "User",
           "LearningPath", "Lesson", "LessonProgress", "QuizAttempt", "QuizQuestion", "HelpArticle", "HelpVote", "WalkthroughProgress"]
