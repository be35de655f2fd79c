"""The gymnax env-version shim that restores the game the published datasets were
evolved on (``env.compat``; declared by the gymnax provider, ``gymnax/__init__.py``).

``gymnax-0.0.6`` SpaceInvaders-MinAtar
    The published MinAtar datasets were evolved with gymnax 0.0.6 (0.0.5-0.0.9 play
    identically). gymnax 1.0 aligned SpaceInvaders with upstream MinAtar in two ways:
    the first wave is 4 x 6 aliens (columns 2-7) instead of 4 x 7 (columns 2-8), and
    the enemy-bullet hit is tested at the cannon's position *after* its move instead
    of before. Observation channels, action set, rewards, timers and later waves are
    unchanged. The datasets' stored obs statistics confirm the old start (the
    alien_left cell at column 8 of the top row is non-zero in the stored mean; under
    gymnax 1.0 it can never be set). Checked against gymnax 0.0.6's own source: over
    32 envs x 3000 random-action steps, observations, rewards and dones were identical.
"""

from __future__ import annotations

import jax.numpy as jnp

__all__ = ["make_space_invaders_gymnax006"]


def make_space_invaders_gymnax006():
    """gymnax 1.0 ``MinSpaceInvaders`` with gymnax 0.0.6's first wave and bullet hit."""
    import jax
    from gymnax.environments.minatar import space_invaders as si

    def step_agent_gymnax006(action, state, params):
        """gymnax 1.0's agent step, with the enemy-bullet hit at the pre-move position."""
        new = si.step_agent(action, state, params)
        hit_before_move = new.e_bullet_map[9, state.pos]
        return new.replace(terminal=jnp.logical_or(state.terminal, hit_before_move))

    class MinSpaceInvadersGymnax006(si.MinSpaceInvaders):
        def reset_env(self, key, params):
            _, state = super().reset_env(key, params)
            state = state.replace(alien_map=state.alien_map.at[0:4, 8].set(True))
            return self.get_obs(state), state

        def step_env(self, key, state, action, params):
            # gymnax 1.0's step_env with the 0.0.6 agent step (later waves are 4 x 6 in
            # both versions).
            state = step_agent_gymnax006(self.action_set[action], state, params)
            state = si.step_aliens(state)
            state, reward = si.step_shoot(state, params)
            cleared = jnp.count_nonzero(state.alien_map) == 0
            ramp = jnp.logical_and(
                cleared, jnp.logical_and(state.enemy_move_interval > 6, state.ramping))
            state = state.replace(
                shot_timer=state.shot_timer - (state.shot_timer > 0),
                alien_move_timer=state.alien_move_timer - 1,
                alien_shot_timer=state.alien_shot_timer - 1,
                enemy_move_interval=state.enemy_move_interval - ramp,
                ramp_index=state.ramp_index + ramp,
                alien_map=jax.lax.select(
                    cleared, state.alien_map.at[0:4, 2:8].set(True), state.alien_map),
                time=state.time + 1,
            )
            done = self.is_terminal(state, params)
            state = state.replace(terminal=done)
            return (jax.lax.stop_gradient(self.get_obs(state)),
                    jax.lax.stop_gradient(state), reward.astype(jnp.float32), done,
                    {"discount": 1 - done})

    return MinSpaceInvadersGymnax006()
