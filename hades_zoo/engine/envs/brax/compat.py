"""The brax env-version shim that restores the physics the published datasets were
evolved on (``env.compat``; declared by the brax provider, ``brax/__init__.py``).

``brax-0.9`` inverted_double_pendulum
    brax <= 0.10 computed the pole "tip" as pole 2's origin plus an *unrotated* 0.6 m
    offset, so the episode ended (``tip_z <= 1``) only when pole 1 tilted past
    acos(2/3) ~ 48 degrees, whatever pole 2 did; the alive bonus was also paid on the
    terminal step. brax 0.14 rotates the offset (google/brax#574, fixed by PR #575), so
    the true tip is used and an episode ends as soon as pole 2 tips over. Dynamics,
    observations, reset noise and the MJCF model are unchanged. The published HaDES
    datasets never learned to hold pole 2 up: under brax 0.14's termination their
    episodes last ~70 steps (return ~640 instead of ~9300). This shim restores the old
    tip/termination/reward, so they reproduce.
"""

from __future__ import annotations

import jax.numpy as jnp

__all__ = ["make_idp_brax09"]


def make_idp_brax09(backend: str):
    """brax 0.14 ``InvertedDoublePendulum`` with the brax 0.9 tip, termination and reward."""
    from brax.envs.inverted_double_pendulum import InvertedDoublePendulum

    class InvertedDoublePendulumBrax09(InvertedDoublePendulum):
        def step(self, state, action):
            pipeline_state = self.pipeline_step(state.pipeline_state, action)
            pole2_origin = pipeline_state.x.pos[2]
            # brax 0.9: offset added in the world frame, not rotated with pole 2.
            tip_x, tip_z = pole2_origin[0], pole2_origin[2] + 0.6
            v1, v2 = pipeline_state.qd[1], pipeline_state.qd[2]
            dist_penalty = 0.01 * tip_x**2 + (tip_z - 2.0) ** 2
            vel_penalty = 1e-3 * v1**2 + 5e-3 * v2**2
            done = jnp.where(tip_z <= 1.0, 1.0, 0.0)
            reward = 10.0 - dist_penalty - vel_penalty  # bonus paid on the last step too
            return state.replace(pipeline_state=pipeline_state,
                                 obs=self._get_obs(pipeline_state), reward=reward, done=done)

    return InvertedDoublePendulumBrax09(backend=backend)
