"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from llmwatch.warehouse.types import UTCDateTime

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('alerts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('flow', sa.String(length=64), nullable=False),
    sa.Column('feature_id', sa.String(length=256), nullable=True),
    sa.Column('model_id', sa.String(length=256), nullable=True),
    sa.Column('metric', sa.String(length=64), nullable=True),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('threshold', sa.Float(), nullable=True),
    sa.Column('window_start', UTCDateTime(), nullable=True),
    sa.Column('window_end', UTCDateTime(), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.Column('series_key', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_alerts_series_window', ['series_key', 'window_start'], unique=False)

    op.create_table('canary_runs',
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=256), nullable=False),
    sa.Column('model_id', sa.String(length=256), nullable=False),
    sa.Column('probe_set_version', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', UTCDateTime(), nullable=False),
    sa.Column('finished_at', UTCDateTime(), nullable=True),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('run_id', name=op.f('pk_canary_runs'))
    )
    with op.batch_alter_table('canary_runs', schema=None) as batch_op:
        batch_op.create_index('ix_canary_runs_target_started', ['target', 'started_at'], unique=False)

    op.create_table('chart_state',
    sa.Column('chart_id', sa.String(length=256), nullable=False),
    sa.Column('feature_id', sa.String(length=256), nullable=False),
    sa.Column('metric', sa.String(length=64), nullable=False),
    sa.Column('lam', sa.Float(), nullable=False),
    sa.Column('limit_l', sa.Float(), nullable=False),
    sa.Column('phase', sa.String(length=16), nullable=False),
    sa.Column('baseline_values', sa.JSON(), nullable=True),
    sa.Column('mu0', sa.Float(), nullable=True),
    sa.Column('sigma0', sa.Float(), nullable=True),
    sa.Column('z', sa.Float(), nullable=True),
    sa.Column('t', sa.Integer(), nullable=False),
    sa.Column('last_window_end', UTCDateTime(), nullable=True),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('chart_id', name=op.f('pk_chart_state'))
    )
    op.create_table('drift_runs',
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('report_date', sa.String(length=10), nullable=False),
    sa.Column('reference_start', UTCDateTime(), nullable=False),
    sa.Column('reference_end', UTCDateTime(), nullable=False),
    sa.Column('current_start', UTCDateTime(), nullable=False),
    sa.Column('current_end', UTCDateTime(), nullable=False),
    sa.Column('n_reference', sa.Integer(), nullable=False),
    sa.Column('n_current', sa.Integer(), nullable=False),
    sa.Column('drift_share', sa.Float(), nullable=True),
    sa.Column('n_drifted', sa.Integer(), nullable=False),
    sa.Column('n_columns', sa.Integer(), nullable=False),
    sa.Column('report_path', sa.Text(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('run_id', name=op.f('pk_drift_runs'))
    )
    with op.batch_alter_table('drift_runs', schema=None) as batch_op:
        batch_op.create_index('ix_drift_runs_report_date', ['report_date'], unique=False)

    op.create_table('golden_runs',
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=256), nullable=False),
    sa.Column('model_id', sa.String(length=256), nullable=False),
    sa.Column('dataset', sa.String(length=256), nullable=False),
    sa.Column('dataset_version', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('n_examples', sa.Integer(), nullable=False),
    sa.Column('n_passed', sa.Integer(), nullable=False),
    sa.Column('n_errors', sa.Integer(), nullable=False),
    sa.Column('pass_rate', sa.Float(), nullable=True),
    sa.Column('started_at', UTCDateTime(), nullable=False),
    sa.Column('finished_at', UTCDateTime(), nullable=True),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('run_id', name=op.f('pk_golden_runs'))
    )
    with op.batch_alter_table('golden_runs', schema=None) as batch_op:
        batch_op.create_index('ix_golden_runs_target_started', ['target', 'started_at'], unique=False)

    op.create_table('ingest_rejects',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('file_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('excerpt', sa.Text(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ingest_rejects')),
    sa.UniqueConstraint('file_fingerprint', 'line_no', 'reason', name=op.f('uq_ingest_rejects_file_fingerprint'))
    )
    op.create_table('ingested_files',
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('loaded', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('unpriced', sa.Integer(), nullable=False),
    sa.Column('ingested_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('fingerprint', name=op.f('pk_ingested_files'))
    )
    op.create_table('judgements',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('request_id', sa.String(length=256), nullable=False),
    sa.Column('feature_id', sa.String(length=256), nullable=False),
    sa.Column('model_id', sa.String(length=256), nullable=False),
    sa.Column('request_ts', UTCDateTime(), nullable=False),
    sa.Column('rubric_version', sa.String(length=64), nullable=False),
    sa.Column('judge_model', sa.String(length=256), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('faithfulness', sa.Integer(), nullable=True),
    sa.Column('relevance', sa.Integer(), nullable=True),
    sa.Column('completeness', sa.Integer(), nullable=True),
    sa.Column('context_relevance', sa.Integer(), nullable=True),
    sa.Column('hallucination', sa.Boolean(), nullable=True),
    sa.Column('reasons', sa.Text(), nullable=True),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('raw_response', sa.Text(), nullable=True),
    sa.Column('latency_ms', sa.Float(), nullable=True),
    sa.Column('cost_usd', sa.Float(), nullable=True),
    sa.Column('judged_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_judgements')),
    sa.UniqueConstraint('request_id', 'rubric_version', 'judge_model', name=op.f('uq_judgements_request_id'))
    )
    with op.batch_alter_table('judgements', schema=None) as batch_op:
        batch_op.create_index('ix_judgements_feature_request_ts', ['feature_id', 'request_ts'], unique=False)

    op.create_table('requests',
    sa.Column('request_id', sa.String(length=256), nullable=False),
    sa.Column('ts', UTCDateTime(), nullable=False),
    sa.Column('feature_id', sa.String(length=256), nullable=False),
    sa.Column('model_id', sa.String(length=256), nullable=False),
    sa.Column('provider', sa.String(length=256), nullable=True),
    sa.Column('latency_ms', sa.Float(), nullable=False),
    sa.Column('ttft_ms', sa.Float(), nullable=True),
    sa.Column('input_tokens', sa.BigInteger(), nullable=False),
    sa.Column('output_tokens', sa.BigInteger(), nullable=False),
    sa.Column('cached_input_tokens', sa.BigInteger(), nullable=False),
    sa.Column('cache_write_tokens', sa.BigInteger(), nullable=False),
    sa.Column('reasoning_tokens', sa.BigInteger(), nullable=False),
    sa.Column('cost_usd', sa.Float(), nullable=True),
    sa.Column('cost_source', sa.String(length=32), nullable=True),
    sa.Column('finish_reason', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('session_id', sa.String(length=256), nullable=True),
    sa.Column('user_segment', sa.String(length=256), nullable=True),
    sa.Column('prompt_template_id', sa.String(length=256), nullable=True),
    sa.Column('input', sa.Text(), nullable=True),
    sa.Column('output', sa.Text(), nullable=True),
    sa.Column('context', sa.Text(), nullable=True),
    sa.Column('metadata', sa.JSON(), nullable=True),
    sa.Column('ingested_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('request_id', name=op.f('pk_requests'))
    )
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.create_index('ix_requests_feature_model_ts', ['feature_id', 'model_id', 'ts'], unique=False)
        batch_op.create_index('ix_requests_ingested_at', ['ingested_at'], unique=False)
        batch_op.create_index('ix_requests_ts', ['ts'], unique=False)

    op.create_table('user_signals',
    sa.Column('signal_id', sa.String(length=64), nullable=False),
    sa.Column('request_id', sa.String(length=256), nullable=False),
    sa.Column('session_id', sa.String(length=256), nullable=True),
    sa.Column('signal_type', sa.String(length=32), nullable=False),
    sa.Column('ts', UTCDateTime(), nullable=False),
    sa.Column('metadata', sa.JSON(), nullable=True),
    sa.Column('ingested_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('signal_id', name=op.f('pk_user_signals'))
    )
    with op.batch_alter_table('user_signals', schema=None) as batch_op:
        batch_op.create_index('ix_user_signals_request_id', ['request_id'], unique=False)
        batch_op.create_index('ix_user_signals_ts', ['ts'], unique=False)

    op.create_table('watermarks',
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('value', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_watermarks'))
    )
    op.create_table('window_metrics',
    sa.Column('window_start', UTCDateTime(), nullable=False),
    sa.Column('feature_id', sa.String(length=256), nullable=False),
    sa.Column('model_id', sa.String(length=256), nullable=False),
    sa.Column('window_end', UTCDateTime(), nullable=False),
    sa.Column('request_count', sa.Integer(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('refusal_count', sa.Integer(), nullable=False),
    sa.Column('error_rate', sa.Float(), nullable=False),
    sa.Column('refusal_rate', sa.Float(), nullable=False),
    sa.Column('latency_p50_ms', sa.Float(), nullable=True),
    sa.Column('latency_p95_ms', sa.Float(), nullable=True),
    sa.Column('latency_p99_ms', sa.Float(), nullable=True),
    sa.Column('ttft_p50_ms', sa.Float(), nullable=True),
    sa.Column('ttft_p95_ms', sa.Float(), nullable=True),
    sa.Column('input_tokens_sum', sa.BigInteger(), nullable=False),
    sa.Column('output_tokens_sum', sa.BigInteger(), nullable=False),
    sa.Column('cached_input_tokens_sum', sa.BigInteger(), nullable=False),
    sa.Column('reasoning_tokens_sum', sa.BigInteger(), nullable=False),
    sa.Column('cache_write_tokens_sum', sa.BigInteger(), nullable=False),
    sa.Column('input_tokens_mean', sa.Float(), nullable=False),
    sa.Column('output_tokens_mean', sa.Float(), nullable=False),
    sa.Column('total_tokens_p50', sa.Float(), nullable=False),
    sa.Column('cost_total_usd', sa.Float(), nullable=True),
    sa.Column('cost_mean_usd', sa.Float(), nullable=True),
    sa.Column('cost_p50_usd', sa.Float(), nullable=True),
    sa.Column('unpriced_count', sa.Integer(), nullable=False),
    sa.Column('explicit_feedback_count', sa.Integer(), nullable=False),
    sa.Column('explicit_positive_rate', sa.Float(), nullable=True),
    sa.Column('explicit_feedback_coverage', sa.Float(), nullable=False),
    sa.Column('correction_rate', sa.Float(), nullable=False),
    sa.Column('follow_up_rate', sa.Float(), nullable=False),
    sa.Column('retry_rate', sa.Float(), nullable=False),
    sa.Column('abandonment_rate', sa.Float(), nullable=False),
    sa.Column('survivorship_bias', sa.Boolean(), nullable=False),
    sa.Column('computed_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('window_start', 'feature_id', 'model_id', name=op.f('pk_window_metrics'))
    )
    with op.batch_alter_table('window_metrics', schema=None) as batch_op:
        batch_op.create_index('ix_window_metrics_window_end', ['window_end'], unique=False)

    op.create_table('alert_deliveries',
    sa.Column('alert_id', sa.BigInteger(), nullable=False),
    sa.Column('channel', sa.String(length=256), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_deliveries_alert_id_alerts')),
    sa.PrimaryKeyConstraint('alert_id', 'channel', name=op.f('pk_alert_deliveries'))
    )
    op.create_table('canary_results',
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('probe_id', sa.String(length=256), nullable=False),
    sa.Column('n_runs', sa.Integer(), nullable=False),
    sa.Column('n_passed', sa.Integer(), nullable=False),
    sa.Column('n_errors', sa.Integer(), nullable=False),
    sa.Column('pass_rate', sa.Float(), nullable=True),
    sa.Column('output_fingerprint', sa.String(length=64), nullable=True),
    sa.Column('distinct_outputs', sa.Integer(), nullable=False),
    sa.Column('system_fingerprint', sa.String(length=256), nullable=True),
    sa.Column('output_chars_mean', sa.Float(), nullable=True),
    sa.Column('input_tokens_mean', sa.Float(), nullable=True),
    sa.Column('output_tokens_mean', sa.Float(), nullable=True),
    sa.Column('latency_ms_mean', sa.Float(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['canary_runs.run_id'], name=op.f('fk_canary_results_run_id_canary_runs')),
    sa.PrimaryKeyConstraint('run_id', 'probe_id', name=op.f('pk_canary_results'))
    )
    op.create_table('chart_points',
    sa.Column('chart_id', sa.String(length=256), nullable=False),
    sa.Column('window_start', UTCDateTime(), nullable=False),
    sa.Column('window_end', UTCDateTime(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('mean', sa.Float(), nullable=False),
    sa.Column('z', sa.Float(), nullable=True),
    sa.Column('lcl', sa.Float(), nullable=True),
    sa.Column('ucl', sa.Float(), nullable=True),
    sa.Column('signal', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['chart_id'], ['chart_state.chart_id'], name=op.f('fk_chart_points_chart_id_chart_state')),
    sa.PrimaryKeyConstraint('chart_id', 'window_start', name=op.f('pk_chart_points'))
    )
    op.create_table('drift_columns',
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('column_name', sa.String(length=256), nullable=False),
    sa.Column('method', sa.String(length=128), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('threshold', sa.Float(), nullable=True),
    sa.Column('drifted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['drift_runs.run_id'], name=op.f('fk_drift_columns_run_id_drift_runs')),
    sa.PrimaryKeyConstraint('run_id', 'column_name', name=op.f('pk_drift_columns'))
    )
    op.create_table('golden_results',
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('example_id', sa.String(length=256), nullable=False),
    sa.Column('intent', sa.String(length=256), nullable=False),
    sa.Column('check_type', sa.String(length=32), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=True),
    sa.Column('output', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('latency_ms', sa.Float(), nullable=True),
    sa.Column('input_tokens', sa.Integer(), nullable=True),
    sa.Column('output_tokens', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['golden_runs.run_id'], name=op.f('fk_golden_results_run_id_golden_runs')),
    sa.PrimaryKeyConstraint('run_id', 'example_id', name=op.f('pk_golden_results'))
    )
    


def downgrade() -> None:
    
    op.drop_table('golden_results')
    op.drop_table('drift_columns')
    op.drop_table('chart_points')
    op.drop_table('canary_results')
    op.drop_table('alert_deliveries')
    with op.batch_alter_table('window_metrics', schema=None) as batch_op:
        batch_op.drop_index('ix_window_metrics_window_end')

    op.drop_table('window_metrics')
    op.drop_table('watermarks')
    with op.batch_alter_table('user_signals', schema=None) as batch_op:
        batch_op.drop_index('ix_user_signals_ts')
        batch_op.drop_index('ix_user_signals_request_id')

    op.drop_table('user_signals')
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.drop_index('ix_requests_ts')
        batch_op.drop_index('ix_requests_ingested_at')
        batch_op.drop_index('ix_requests_feature_model_ts')

    op.drop_table('requests')
    with op.batch_alter_table('judgements', schema=None) as batch_op:
        batch_op.drop_index('ix_judgements_feature_request_ts')

    op.drop_table('judgements')
    op.drop_table('ingested_files')
    op.drop_table('ingest_rejects')
    with op.batch_alter_table('golden_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_golden_runs_target_started')

    op.drop_table('golden_runs')
    with op.batch_alter_table('drift_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_drift_runs_report_date')

    op.drop_table('drift_runs')
    op.drop_table('chart_state')
    with op.batch_alter_table('canary_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_canary_runs_target_started')

    op.drop_table('canary_runs')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_series_window')
        batch_op.drop_index('ix_alerts_created_at')

    op.drop_table('alerts')
    
